"""``gongzhi demo``: load the demo city (乌海市) and print its logins."""

from __future__ import annotations

import unicodedata

from django.core.management.base import BaseCommand, CommandError
from django.db.models import ProtectedError

from gongzhi.core.demo import DEMO_PASSWORD, DemoSummary, build_demo_city, reset_demo_city
from gongzhi.premises.demo import build_demo_inspections


def display_width(text: str) -> int:
    """Terminal columns taken by ``text`` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def format_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table whose columns line up with Chinese text too."""
    widths = [max(display_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(pad(cell, w) for cell, w in zip(header, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "载入演示城市（乌海市）及演示账号 / Load the demo city (Wuhai) and its demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true",
            help="先删除已有的演示数据再重新载入 / delete the demo data first, then load it again",
        )

    def handle(self, *args, reset: bool = False, **options):
        if reset:
            from gongzhi.cases.demo import reset_demo_cases

            reset_demo_cases()
            try:
                deleted = reset_demo_city(stdout=self.stdout)
            except ProtectedError as exc:
                raise CommandError(
                    "演示数据已被其他记录引用，无法删除 / other records still point at the demo data: "
                    f"{len(exc.protected_objects)} object(s)") from exc
            if deleted:
                self.stdout.write("已删除演示数据 / Demo data deleted.")
        summary = build_demo_city(stdout=self.stdout)
        from gongzhi.cases.demo import build_demo_cases

        build_demo_cases(stdout=self.stdout)
        from gongzhi.evaluation.demo import build_demo_evaluation

        build_demo_evaluation(stdout=self.stdout)
        build_demo_inspections(stdout=self.stdout)
        from gongzhi.inspections.demo import build_demo_joint_inspections

        build_demo_joint_inspections(stdout=self.stdout)  # station, team, past visits (docs/inspections.md)
        from gongzhi.points.demo import build_demo_points

        build_demo_points(stdout=self.stdout)  # 喜邻: activities, a partner merchant (docs/points.md)
        from gongzhi.deliberation.demo import build_demo_deliberation

        build_demo_deliberation(stdout=self.stdout)  # 共商共决: a roll, votes, a project (docs/deliberation.md)
        from gongzhi.registries.demo import build_demo_registries

        build_demo_registries(stdout=self.stdout)  # 人员台账: invented residents, key persons … (docs/registries.md)
        from gongzhi.portal.demo import build_demo_portal

        build_demo_portal(stdout=self.stdout)  # 社区门户: schedules, notices, 公开栏, services (docs/portal.md)
        self.print_summary(summary)

    def print_summary(self, summary: DemoSummary) -> None:
        w = self.stdout.write
        if summary.created:
            w(self.style.SUCCESS("演示城市乌海市已载入 / Demo city Wuhai loaded."))
        w("区域 / Areas: " + " · ".join(f"{name} {n}" for name, n in summary.area_counts))
        w(f"部门 / Departments: {summary.departments}    人员 / People: {summary.people}")
        w("")
        w(self.style.MIGRATE_HEADING(f"演示账号 / Demo logins (密码 / password: {DEMO_PASSWORD})"))
        header = ["账号 username", "密码 password", "手机 phone", "姓名 name", "岗位 role · area / department",
                  "可见范围 sees"]
        rows = [[login.username, login.password or "（原密码 unchanged）", login.phone, login.name, login.post,
                 login.sees] for login in summary.logins]
        w(format_table(header, rows))
        w("")
        w(f"打开 / Open {summary.url} ，用账号或手机号登录 / log in with the username or the phone number.")

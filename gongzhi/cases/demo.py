"""Demo data for the closed loop: routing rules for common categories in each demo street, and a
handful of cases in every state, moved through the real service functions (so timelines, due times
and notifications are what the product makes). Idempotent: runs once per database."""

from __future__ import annotations

from typing import TextIO

from django.db import transaction

from gongzhi.areas.models import Area
from gongzhi.core import refcache
from gongzhi.orgs.models import Department, User

from . import intake, services
from .choices import Source
from .models import Case, Category, RoutingRule

#: category code → the department kind (code suffix in the demo) that handles it in every street.
ROUTES = {
    "06010": "enforcement",  # 暴露垃圾
    "06042": "office",       # 垃圾站（箱）满溢
    "06028": "police",       # 噪声扰民
    "09005": "enforcement",  # 店外经营
    "09006": "enforcement",  # 占道经营
    "09009": "police",       # 机动车乱停放
    "09012": "police",       # 占用消防通道
    "09015": "market",       # 无证餐饮
    "07001": "enforcement",  # 非法小广告
    "06013": "office",       # 道路破损
}
#: Extra fields the demo declares (if the category has none yet), so the report page and the case
#: page show them: 机动车乱停放 asks for the plate, 噪声扰民 for when the noise happens.
EXTRA_FIELDS = {
    "09009": [
        {"name": "plate", "label": "车牌号", "label_en": "Plate number", "required": False, "type": "text",
         "max_length": 12},
        {"name": "vehicle", "label": "车辆类型", "label_en": "Vehicle", "type": "choice",
         "choices": ["小型汽车", "大型汽车", "摩托车", "电动自行车"]},
    ],
    "06028": [
        {"name": "period", "label": "噪声时段", "label_en": "When", "required": True, "type": "choice",
         "choices": ["白天（6:00–22:00）", "夜间（22:00–6:00）"]},
    ],
}
#: What the demo cases give for them (category code → extra).
EXTRA_VALUES = {"09009": {"plate": "蒙C·D1234", "vehicle": "小型汽车"}, "06028": {"period": "夜间（22:00–6:00）"}}
STREET_PREFIXES = {"凤凰岭街道": "fhl", "海北街道": "hb", "滨海街道": "bh"}

# (reporter, grid, title, category code, how far the loop goes)
CASES = [
    ("resident", "凤凰小巷一网格", "铁中巷口几辆车违停堵住通道", "09009", "reported"),
    ("resident", "凤凰小巷二网格", "楼下垃圾桶旁堆满垃圾袋", "06010", "filed"),
    ("fh-gridworker", "凤凰小巷一网格", "巷口早餐摊占道经营", "09006", "dispatched"),
    ("fh-gridworker", "凤凰小巷三网格", "电线杆上贴满小广告", "07001", "in_progress"),
    ("resident", "凤凰小巷二网格", "夜间烧烤店噪声扰民", "06028", "handled"),
    ("fh-informant", "凤凰小巷二网格", "消防通道被电动车占用", "09012", "closed"),
    ("resident", "凤凰小巷三网格", "人行道地砖破损", "06013", "returned"),
]


def _route(prefix: str, street: Area) -> None:
    for code, kind in ROUTES.items():
        category = Category.objects.filter(version__is_active=True, code=code).first()
        department = Department.objects.filter(code=f"{prefix}-{kind}").first()
        if category and department:
            RoutingRule.objects.get_or_create(category=category, area=street, department=department)


def _declare_extra_fields() -> None:
    for category in Category.objects.filter(version__is_active=True, code__in=list(EXTRA_FIELDS)):
        if not category.extra_fields:
            Category.objects.filter(pk=category.pk).update(extra_fields=EXTRA_FIELDS[category.code])
    refcache.clear()  # update() sends no signal: intake must not use the cached categories


def build_demo_cases(*, stdout: TextIO | None = None) -> int:
    """Routing rules and sample cases for the demo city; returns the number of cases created."""
    if Case.objects.filter(extra__demo=True).exists() or not Area.objects.filter(code="150300").exists():
        return 0
    users = {u.username: u for u in User.objects.filter(username__in=[
        "resident", "fh-gridworker", "fh-informant", "fhl-dispatcher", "fhl-enforcement", "fhl-police",
        "fhl-office", "fhl-supervisor"])}
    created = 0
    with transaction.atomic():
        _declare_extra_fields()
        for street_name, prefix in STREET_PREFIXES.items():
            street = Area.objects.filter(name=street_name).first()
            if street is not None:
                _route(prefix, street)
        for reporter, grid_name, title, code, stage in CASES:
            grid = Area.objects.filter(name=grid_name).first()
            user = users.get(reporter)
            if grid is None or user is None or grid.label_lon is None:
                continue
            category = Category.objects.filter(version__is_active=True, code=code).first()
            source = Source.RESIDENT if reporter == "resident" else Source.PATROL
            case, _new = intake.report_case(intake.Report(
                title=title, description=title, category=category, lon=grid.label_lon, lat=grid.label_lat,
                source=source, idempotency_key=f"demo-{code}", extra={"demo": True, **EXTRA_VALUES.get(code, {})}),
                reporter=user)
            created += 1
            _advance(case, stage, users)
    if stdout is not None:
        stdout.write(f"案件 / Cases: {created}\n")
    _router_model(stdout)
    return created


def _router_model(stdout: TextIO | None) -> None:
    """Smart dispatch: a model for each target (cold start from the directory: the demo has too few
    closed cases to learn from), so the demo's case pages show suggestions."""
    from gongzhi.router import services as router

    try:
        results = router.ensure_active()
    except ImportError:  # the router's libraries (scikit-learn, jieba) are not installed
        return
    for result in results:
        if stdout is not None:
            stdout.write(f"智能分派 / Router: {result.message}\n")


def _advance(case: Case, stage: str, users: dict) -> None:
    """Move a demo case through the loop up to ``stage`` (auto-dispatched cases start further on)."""
    order = ["reported", "filed", "dispatched", "in_progress", "handled", "closed"]
    dispatcher, supervisor = users["fhl-dispatcher"], users["fhl-supervisor"]
    if stage == "returned":
        stage_index = order.index("dispatched")
    else:
        stage_index = order.index(stage)
    if case.status == "reported" and stage_index >= 1:
        case = services.file_case(case, actor=dispatcher)
    if case.status == "filed" and stage_index >= 2:
        from . import routing

        department = routing.resolve(case) or Department.objects.get(code="fhl-office")
        case = services.dispatch_case(case, actor=dispatcher, department=department)
    staff = case.department.staff.select_related("user").first() if case.department_id else None
    handler = staff.user if staff else None
    if stage == "returned" and handler:
        services.return_case(case, actor=handler, reason="地砖属于市政道路，应由城管部门处理")
        return
    if case.status == "dispatched" and stage_index >= 3 and handler:
        case = services.accept_case(case, actor=handler, note="已安排人员前往")
    if case.status == "in_progress" and stage_index >= 4 and handler:
        case = services.handle_case(case, actor=handler, note="已到现场处理完毕")
    if case.status == "handled" and stage_index >= 5:
        case = services.verify_case(case, actor=supervisor, passed=True, note="现场核查已整改")
        services.rate_case(case, actor=case.reporter, rating="satisfied", comment="处理及时")


def reset_demo_cases() -> int:
    """Delete the demo's cases (with their timelines and photos), before the demo city is reset."""
    with transaction.atomic():
        demo = Case.objects.filter(extra__demo=True)
        Case.objects.filter(master__in=demo).update(master=None)
        count, _ = demo.delete()
    return count

"""``gongzhi audit_verify``: seal new audit rows, then walk the hash chain and report the first broken link.

Exit status 0 when the chain holds, 1 (CommandError) when a link is broken. ``--no-seal`` checks only
what is already sealed (a read-only check); ``--repair-head`` recreates a deleted chain head from the
last row (after an investigation: it makes a truncated tail undetectable from then on).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit


class Command(BaseCommand):
    help = "校验审计日志哈希链，报告第一处断裂 / Verify the audit log hash chain and report the first broken link."

    def add_arguments(self, parser):
        parser.add_argument("--no-seal", action="store_true", help="do not seal new rows first (read only)")
        parser.add_argument("--repair-head", action="store_true",
                            help="recreate a missing chain head from the last sealed row (audited)")

    def handle(self, *args, no_seal: bool = False, repair_head: bool = False, **options):
        if not no_seal:
            try:
                sealed = audit.seal(repair_head=repair_head)
            except audit.ChainHeadMissing:
                raise CommandError(_("审计链头缺失：末尾的记录可能已被删除。调查后可加 --repair-head 重建链头。")) from None
            self.stdout.write(_("已封存 %(n)s 条新记录。") % {"n": sealed})
        result = audit.verify()
        cp = result.checkpoint
        if cp is not None:
            self.stdout.write(_("检查点：第 %(seq)s 条及之前的 %(rows)s 条记录已于 %(at)s 清理（早于 %(before)s）。") % {
                "seq": cp.seq, "rows": cp.purged_rows, "at": timezone.localtime(cp.at).strftime("%Y-%m-%d %H:%M"),
                "before": timezone.localtime(cp.purged_before).strftime("%Y-%m-%d %H:%M")})
        self.stdout.write(_("已校验 %(n)s 条记录（链序号 %(first)s 至 %(last)s）。") % {
            "n": result.checked, "first": result.first_seq if result.first_seq is not None else "-",
            "last": result.last_seq if result.last_seq is not None else "-"})
        if result.unsealed:
            self.stdout.write(_("尚未封存：%(n)s 条（最早 %(at)s）。") % {
                "n": result.unsealed,
                "at": timezone.localtime(result.oldest_unsealed).strftime("%Y-%m-%d %H:%M:%S")
                if result.oldest_unsealed else "-"})
        if not result.ok:
            where = ""
            if result.broken_seq is not None:
                where = _("链序号 %(seq)s") % {"seq": result.broken_seq}
                if result.broken_id is not None:
                    where += _("（记录编号 %(id)s）") % {"id": result.broken_id}
                where += "："
            raise CommandError(_("审计链断裂。") + where + result.reason)
        self.stdout.write(self.style.SUCCESS(_("审计链完整。")))

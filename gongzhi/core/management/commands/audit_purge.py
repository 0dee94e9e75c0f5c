"""``gongzhi audit_purge [--commit]``: delete audit rows older than AUDIT_RETENTION_DAYS.

A dry run unless ``--commit`` (ARCHITECTURE pattern 6). Leaves a checkpoint, so ``audit_verify``
still verifies the remaining chain. The worker runs the same purge periodically.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit


class Command(BaseCommand):
    help = "清理超过保留期的审计日志（默认试运行，加 --commit 才删除） / Purge expired audit rows."

    def add_arguments(self, parser):
        parser.add_argument("--commit", action="store_true", help="delete (default: dry run)")

    def handle(self, *args, commit: bool = False, **options):
        try:
            result = audit.purge_expired(commit=commit)
        except (ImproperlyConfigured, audit.ChainHeadMissing) as exc:
            raise CommandError(str(exc)) from None
        params = {"days": audit.retention_days(), "n": result.rows, "seq": result.through_seq,
                  "before": timezone.localtime(result.cutoff).strftime("%Y-%m-%d %H:%M")}
        self.stdout.write(_("保留期 %(days)s 天：早于 %(before)s 的记录可清理。") % params)
        if not result.rows:
            self.stdout.write(_("没有需要清理的记录。"))
        elif result.committed:
            self.stdout.write(self.style.SUCCESS(
                _("已清理 %(n)s 条记录（至链序号 %(seq)s），并写入检查点。") % params))
        else:
            self.stdout.write(_("将清理 %(n)s 条记录（至链序号 %(seq)s）。确认无误后加 --commit 执行。") % params)

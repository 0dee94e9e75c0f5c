"""``gongzhi restore FILE [--commit] [--force]``: restore a ``gongzhi backup`` archive.

A dry run unless ``--commit`` (ARCHITECTURE pattern 6): checks the archive (manifest, the sha256 of
every file) and the target, and says what it would do. Refuses a database that holds data
(accounts or audit rows) or media files that differ, unless ``--force``. With ``--commit``: brings
the schema to the backup's migration state, loads every table in one transaction, resets sequences,
restores media, then recomputes row counts and checksums per table and compares them with the
manifest (exit status 1 on any difference), and finally applies newer migrations of this version.
Stop the web processes and the worker first.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

from gongzhi.core import backup
from gongzhi.core.management.commands.load_demo import format_table


class Command(BaseCommand):
    help = "从备份归档恢复数据库和媒体文件（默认试运行，加 --commit 才写入） / Restore a backup archive."

    def add_arguments(self, parser):
        parser.add_argument("file", help="archive written by `gongzhi backup`")
        parser.add_argument("--commit", action="store_true", help="write (default: dry run)")
        parser.add_argument("--force", action="store_true",
                            help="overwrite a database that holds data and media files that differ")
        parser.add_argument("--no-migrate", action="store_true",
                            help="leave the schema at the backup's state (do not apply newer migrations)")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias (default: default)")

    def handle(self, *args, file, commit=False, force=False, no_migrate=False, database=DEFAULT_DB_ALIAS,
               **options):
        verbosity = int(options.get("verbosity", 1))
        say = self.stdout.write if verbosity >= 1 else (lambda _m: None)
        try:
            with backup.open_archive(file) as tar:
                plan = backup.plan_restore(tar, alias=database)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        self.describe(plan, database, force=force)
        if not commit:
            if (plan.target_holds_data or plan.media_conflicts) and not force:
                raise CommandError(_("目标已有数据，恢复会覆盖它们；确认后加 --force。"))
            self.stdout.write(_("以上为试运行，未作任何改动。确认无误后加 --commit 执行恢复。"))
            return
        try:
            result = backup.restore(file, alias=database, commit=True, force=force,
                                    migrate_forward=not no_migrate, say=say, plan=plan)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        rows = [[t.table, str(t.expected_rows), str(t.rows), t.checksum[:12] if t.checksum else "-",
                 _("一致") if t.ok else _("不一致")] for t in result.tables]
        self.stdout.write(format_table([_("表"), _("备份行数"), _("恢复行数"), _("校验值"), _("结果")], rows))
        media = len(plan.manifest.get("media", []))
        self.stdout.write(_("媒体文件：%(ok)s / %(n)s 一致。") % {"ok": media - len(result.media_missing), "n": media})
        if not result.ok:
            bad = [t.table for t in result.tables if not t.ok] + result.media_missing
            raise CommandError(_("恢复后的数据与备份不一致：%(names)s") % {"names": ", ".join(bad[:20])})
        if result.migrated_forward:
            self.stdout.write(_("已执行本版本较新的迁移：%(names)s") % {"names": ", ".join(result.migrated_forward)})
        self.stdout.write(self.style.SUCCESS(_("恢复完成，每张表的行数和校验值均与备份一致（用时 %(seconds).1f 秒）。")
                                             % {"seconds": result.seconds}))

    def describe(self, plan: backup.RestorePlan, database: str, *, force: bool) -> None:
        manifest = plan.manifest
        w = self.stdout.write
        settings = connections[database].settings_dict
        w(_("备份：创建于 %(at)s，来自 %(vendor)s，gongzhi %(version)s") % {
            "at": manifest["created_at"], "vendor": manifest["database_vendor"], "version": manifest["gongzhi_version"]})
        w(_("  %(tables)s 张表 %(rows)s 行；%(files)s 个媒体文件 %(size)s 字节；文件校验通过。") % {
            "tables": len(manifest["tables"]), "rows": sum(t["rows"] for t in manifest["tables"]),
            "files": len(manifest.get("media", [])), "size": sum(m["size"] for m in manifest.get("media", []))})
        w(_("目标数据库：%(vendor)s %(name)s") % {"vendor": connections[database].vendor, "name": settings.get("NAME")})
        if plan.target_holds_data:
            w(_("  目标数据库已有账号或审计记录，将被全部替换。") + ("" if force else _("（需要 --force）")))
        if plan.media_conflicts:
            w(_("  %(n)s 个媒体文件与备份中的同名文件不同，将被覆盖。") % {"n": len(plan.media_conflicts)}
              + ("" if force else _("（需要 --force）")))
        if plan.migrate_plan:
            w(_("  将先把数据库结构迁移到备份时的状态（%(n)s 个迁移）。") % {"n": len(plan.migrate_plan)})
        w(_("  将清空并载入 %(n)s 张表，重置序列，恢复媒体文件，再逐表核对行数和校验值。") % {
            "n": len(manifest["tables"])})
        if plan.forward_plan:
            w(_("  之后执行本版本较新的 %(n)s 个迁移。") % {"n": len(plan.forward_plan)})

"""``gongzhi backup [FILE] [--no-media]``: the database and the media files in one archive.

Reads one consistent snapshot while the site keeps running; the archive (owner-only permissions)
holds personal data: keep it encrypted and off the server (docs/operations.md).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import backup


class Command(BaseCommand):
    help = "备份数据库和媒体文件到一个归档文件 / Back up the database and media files into one archive."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?",
                            help="archive to write (default: gongzhi-backup-YYYYmmdd-HHMMSS.tar.gz here)")
        parser.add_argument("--no-media", action="store_true",
                            help="database only (e.g. when the object store keeps its own versions)")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias (default: default)")

    def handle(self, *args, file=None, no_media=False, database=DEFAULT_DB_ALIAS, **options):
        path = file or f"gongzhi-backup-{timezone.localtime():%Y%m%d-%H%M%S}.tar.gz"
        say = self.stdout.write if int(options.get("verbosity", 1)) >= 1 else (lambda _m: None)
        say(_("备份到 %(path)s …") % {"path": path})
        try:
            result = backup.backup(path, alias=database, media=not no_media, say=say)
        except (backup.BackupError, OSError) as exc:
            raise CommandError(str(exc)) from None
        manifest = result.manifest
        self.stdout.write(self.style.SUCCESS(
            _("完成：%(tables)s 张表 %(rows)s 行，%(files)s 个媒体文件，用时 %(seconds).1f 秒。") % {
                "tables": len(manifest["tables"]), "rows": result.rows, "files": len(manifest["media"]),
                "seconds": result.seconds}))

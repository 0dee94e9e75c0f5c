"""``activate_directory NAME``: make a loaded directory version the active one.

Runs ``check_version`` first (errors stop it, warnings are printed), then switches versions in one
transaction and carries over the previous version's per-category settings (``directory``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gongzhi.cases import directory
from gongzhi.cases.models import DirectoryVersion


class Command(BaseCommand):
    help = "启用已载入的分类目录版本"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="version name (see the admin or load_directory)")

    def handle(self, *args, name: str, **options) -> None:
        version = DirectoryVersion.objects.filter(name=name).first()
        if version is None:
            names = "、".join(DirectoryVersion.objects.values_list("name", flat=True)[:20]) or _("无")
            raise CommandError(_("没有名为“%(name)s”的目录版本（已有：%(names)s）") % {"name": name, "names": names})
        try:
            result = directory.activate_version(version, actor=None)
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from None
        for warning in result.warnings:
            self.stdout.write(warning)
        self.stdout.write(result.summary())

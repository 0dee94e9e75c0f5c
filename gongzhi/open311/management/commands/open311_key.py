"""``gongzhi open311_key NAME [--department CODE] [--batch] [--rate 600/m] [--contact TEXT]``:
issue an Open311 api_key for a client application (the key is printed once; only its hash is
stored). ``--rotate`` gives an existing client a new key, ``--revoke`` stops its key."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gongzhi.open311 import services
from gongzhi.open311.models import ApiClient
from gongzhi.orgs.models import Department


class Command(BaseCommand):
    help = "发放、更换或吊销 Open311 客户端的 api_key"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the client application's name")
        parser.add_argument("--department", help="department code: the key may post updates on its cases")
        parser.add_argument("--batch", action="store_true", help="POST requests answers a token (batch)")
        parser.add_argument("--rate", default="600/m", help="rate limit, e.g. 600/m (0: none)")
        parser.add_argument("--contact", default="", help="who runs the client (free text)")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--rotate", action="store_true", help="a new key for an existing client")
        action.add_argument("--revoke", action="store_true", help="revoke an existing client's key")

    def handle(self, *args, name: str, department: str | None = None, batch: bool = False, rate: str = "600/m",
               contact: str = "", rotate: bool = False, revoke: bool = False, **options) -> None:
        if rotate or revoke:
            client = ApiClient.objects.filter(name=name).first()
            if client is None:
                raise CommandError(f"no Open311 client named {name!r}")
            if revoke:
                services.revoke_client(client, actor=None)
                self.stdout.write(f"revoked the key of {client.name} ({client.key_prefix}…)")
                return
            raw = services.rotate_key(client, actor=None)
            self.stdout.write(raw)
            return
        dept = None
        if department:
            dept = Department.objects.filter(code=department, is_active=True).first()
            if dept is None:
                raise CommandError(f"no active department with code {department!r}")
        try:
            _client, raw = services.issue_client(actor=None, name=name, department=dept, contact=contact,
                                                 batch=batch, rate_limit=rate)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(raw)

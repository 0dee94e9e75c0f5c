"""Re-encrypt every sealed field with the current key and recompute the blind indexes.

    REGISTRY_KEYS=<new>,<old> gongzhi rotate_keys            # dry run: counts what it would rewrite
    REGISTRY_KEYS=<new>,<old> gongzhi rotate_keys --commit   # rewrite; then drop <old> from REGISTRY_KEYS

Safe to interrupt and to run again (each row is rewritten in its own small transaction, and a row
already under the current key is simply re-encrypted). docs/registries.md#keys.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from gongzhi.core import audit
from gongzhi.registries import crypto

BATCH = 500


class Command(BaseCommand):
    help = "Re-encrypt the registries' sensitive fields with the first key of REGISTRY_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--commit", action="store_true", help="rewrite (without it: a dry run)")

    def handle(self, *args, commit: bool = False, **options):
        total = 0
        for model in apps.get_models():
            fields = crypto.sealed_fields(model)
            if not fields:
                continue
            names = [f.attname for f in fields]
            indexes = [f.index_to for f in fields if f.index_to]
            queryset = model._default_manager.order_by("pk")
            count = queryset.count()
            total += count
            self.stdout.write(f"{model._meta.label}: {count} rows, fields {', '.join(names)}")
            if not commit or not count:
                continue
            last = 0
            with tqdm(total=count, disable=not self.stdout.isatty()) as bar:
                while True:
                    rows = list(queryset.filter(pk__gt=last).only("pk", *names)[:BATCH])
                    if not rows:
                        break
                    with transaction.atomic():
                        for row in rows:
                            # Reading decrypts with any key; saving encrypts with the first one.
                            for name in names:
                                getattr(row, name).reveal()
                            row.save(update_fields=[*names, *indexes])
                    last = rows[-1].pk
                    bar.update(len(rows))
        if commit:
            audit.record(None, "registries.rotate_keys", note=f"{total} rows re-encrypted")
            self.stdout.write(self.style.SUCCESS(f"{total} rows re-encrypted with the current key."))
        else:
            self.stdout.write(f"Dry run: {total} rows would be re-encrypted. Run again with --commit.")

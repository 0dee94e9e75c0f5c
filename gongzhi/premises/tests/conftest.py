from __future__ import annotations

import pytest


@pytest.fixture
def types(db):
    """The seeded premises types (re-run: transactional tests flush them)."""
    import importlib

    from django.apps import apps

    from gongzhi.premises.models import PremisesType

    importlib.import_module("gongzhi.premises.migrations.0002_default_types").forwards(apps, None)
    return {t.code: t for t in PremisesType.objects.all()}

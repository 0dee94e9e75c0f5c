"""The app is installed and its tables exist."""

from __future__ import annotations

import pytest

from gongzhi.inspections.models import Notice, Station

pytestmark = pytest.mark.django_db


def test_tables_exist():
    assert Station.objects.count() == 0
    assert Notice.objects.count() == 0

"""The per-process reference cache: an edit in this process applies at once; others within the TTL."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.core import calendar, refcache
from gongzhi.core.models import CalendarDay, OfficePeriod

pytestmark = pytest.mark.django_db


def test_office_hours_are_read_once_and_an_edit_applies_at_once():
    calendar.office_periods()
    with CaptureQueriesContext(connection) as queries:
        calendar.office_periods()
    assert len(queries) == 0
    OfficePeriod.objects.create(start=datetime.time(6, 0), end=datetime.time(7, 0))  # post_save clears
    assert calendar.office_periods()[0] == (datetime.time(6, 0), datetime.time(7, 0))


def test_a_calendar_edit_moves_the_next_deadline():
    monday = datetime.date(2031, 3, 3)  # a year with no seeded rows: the Monday–Friday fallback
    start = datetime.datetime(2031, 3, 3, 17, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    assert calendar.add_working_hours(start, 2).date() == monday + datetime.timedelta(days=1)
    CalendarDay.objects.create(date=monday + datetime.timedelta(days=1), is_workday=False, name="测试", source="admin")
    assert calendar.add_working_hours(start, 2).date() == monday + datetime.timedelta(days=2)


def test_bulk_writes_show_after_the_ttl_or_clear(settings):
    calendar.office_periods()
    OfficePeriod.objects.bulk_create([OfficePeriod(start=datetime.time(7, 0), end=datetime.time(7, 30))])
    assert calendar.office_periods()[0][0] != datetime.time(7, 0)  # no signal for bulk writes: cached
    settings.REFERENCE_CACHE_SECONDS = 0  # no caching at all
    assert calendar.office_periods()[0] == (datetime.time(7, 0), datetime.time(7, 30))
    settings.REFERENCE_CACHE_SECONDS = 30
    refcache.clear()
    assert calendar.office_periods()[0] == (datetime.time(7, 0), datetime.time(7, 30))

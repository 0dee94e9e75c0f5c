"""Service schedules: the calendar rules across a holiday and a 调休 Saturday, exceptions, the
validity window, what a resident sees at their address, who may write, and the pages."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from gongzhi.areas import services as area_services
from gongzhi.areas.models import AreaLevel
from gongzhi.core.models import AuditLog, CalendarDay
from gongzhi.portal import schedules
from gongzhi.portal.models import Residency, ScheduleException, ServiceSchedule

Rule = ServiceSchedule.CalendarRule
Kind = ServiceSchedule.Kind

# A year no seed covers: every day not given a row below is Monday–Friday.
LABOUR_DAY = datetime.date(2031, 5, 5)  # a Monday, made a holiday
MAKEUP_SATURDAY = datetime.date(2031, 5, 10)  # a Saturday, made a working day (调休上班)
TUESDAY = datetime.date(2031, 5, 6)
SUNDAY = datetime.date(2031, 5, 11)


@pytest.fixture
def calendar(db):
    CalendarDay.objects.create(date=LABOUR_DAY, is_workday=False, name="劳动节")
    CalendarDay.objects.create(date=MAKEUP_SATURDAY, is_workday=True, name="调休上班")


@pytest.fixture
def estate(world):
    """Building X under grid A1 (the resident's home), building Y under grid B1 (another estate)."""
    building = AreaLevel.objects.get(slug="building")
    x = area_services.create_area(actor=None, level=building, parent=world.grid_a1, name="1号楼")
    y = area_services.create_area(actor=None, level=building, parent=world.grid_b1, name="9号楼")
    Residency.objects.create(user=world.resident, area=x, status=Residency.Status.VERIFIED)
    return x, y


def make(area, *, kind=Kind.GARBAGE, title="垃圾清运", times=("07:30", "12:30", "19:30"), rule=Rule.EVERY_DAY,
         weekdays=(), **extra):
    return schedules.create_schedule(None, area=area, kind=kind, title=title, weekdays=list(weekdays),
                                     times=times if isinstance(times, str) else list(times), calendar_rule=rule,
                                     valid_from=extra.pop("valid_from", datetime.date(2030, 1, 1)), **extra)


# ------------------------------------------------------------------------------ calendar rules


def test_every_day_runs_on_holidays_and_follows_the_weekday_pattern(world, calendar):
    daily = make(world.grid_a1)
    assert schedules.runs_on(daily, LABOUR_DAY) == ["07:30", "12:30", "19:30"]
    assert schedules.runs_on(daily, SUNDAY) == ["07:30", "12:30", "19:30"]
    weekly = make(world.grid_a1, kind=Kind.INSPECTION, title="检查日", times=["09:00"], weekdays=[0, 5])
    assert schedules.runs_on(weekly, LABOUR_DAY) == ["09:00"]  # a Monday, holiday or not
    assert schedules.runs_on(weekly, TUESDAY) == []
    assert schedules.runs_on(weekly, MAKEUP_SATURDAY) == ["09:00"]


def test_workdays_follow_the_working_calendar(world, calendar):
    office = make(world.grid_a1, kind=Kind.OFFICE, title="办事窗口", times=["09:00-12:00"], rule=Rule.WORKDAYS,
                  weekdays=[2])  # weekdays are ignored under this rule
    assert schedules.runs_on(office, LABOUR_DAY) == []
    assert schedules.runs_on(office, TUESDAY) == ["09:00-12:00"]
    assert schedules.runs_on(office, MAKEUP_SATURDAY) == ["09:00-12:00"]
    assert schedules.runs_on(office, SUNDAY) == []


def test_not_on_holidays_pauses_on_a_statutory_holiday_only(world, calendar):
    clinic = make(world.community_a, kind=Kind.CLINIC, title="门诊", times=["08:00-11:30"],
                  rule=Rule.NOT_ON_HOLIDAYS, weekdays=[0, 1, 6])
    assert schedules.runs_on(clinic, LABOUR_DAY) == []
    assert schedules.runs_on(clinic, TUESDAY) == ["08:00-11:30"]
    assert schedules.runs_on(clinic, SUNDAY) == ["08:00-11:30"]  # a weekend day of the pattern runs
    assert schedules.runs_on(clinic, MAKEUP_SATURDAY) == []  # not in the pattern, 调休 or not


def test_plan_agrees_with_runs_on_across_the_week(world, calendar):
    made = [make(world.grid_a1), make(world.grid_a1, kind=Kind.OFFICE, title="窗口", times=["14:00"],
                                      rule=Rule.WORKDAYS),
            make(world.grid_a1, kind=Kind.LEGAL, title="法律顾问", times=["09:00"], rule=Rule.NOT_ON_HOLIDAYS,
                 weekdays=[0, 5])]
    planned = schedules.plan(made, LABOUR_DAY, 7)
    for day, rows in planned.items():
        expected = {s.pk: schedules.runs_on(s, day) for s in made}
        assert {s.pk: times for s, times, _note in rows} == {k: v for k, v in expected.items() if v}


# ------------------------------------------------------------------------------ exceptions, validity


def test_an_exception_cancels_or_replaces_the_day(world, calendar):
    garbage = make(world.grid_a1)
    schedules.set_exception(world.worker, garbage, date=SUNDAY, times="09:00", note="春节：仅 09:00 清运一次")
    assert schedules.runs_on(garbage, SUNDAY) == ["09:00"]
    schedules.set_exception(world.worker, garbage, date=SUNDAY, cancelled=True, note="停运")  # replaces it
    assert ScheduleException.objects.filter(schedule=garbage).count() == 1
    assert schedules.runs_on(garbage, SUNDAY) == []
    office = make(world.grid_a1, kind=Kind.OFFICE, title="窗口", times=["09:00"], rule=Rule.WORKDAYS)
    schedules.set_exception(world.worker, office, date=LABOUR_DAY, times=["10:00-11:00"], note="节日值班")
    assert schedules.runs_on(office, LABOUR_DAY) == ["10:00-11:00"]  # an exception wins over the calendar
    exception = ScheduleException.objects.get(schedule=garbage)
    schedules.remove_exception(world.worker, exception)
    assert schedules.runs_on(garbage, SUNDAY) == ["07:30", "12:30", "19:30"]
    actions = set(AuditLog.objects.filter(action__startswith="portal.schedule").values_list("action", flat=True))
    assert {"portal.schedule.create", "portal.schedule.exception_set", "portal.schedule.exception_remove"} <= actions


def test_the_validity_window_and_ending_a_schedule(world, calendar):
    garbage = make(world.grid_a1, valid_from=TUESDAY, valid_until=SUNDAY)
    assert schedules.runs_on(garbage, LABOUR_DAY) == []
    assert schedules.runs_on(garbage, TUESDAY) != []
    assert schedules.runs_on(garbage, SUNDAY + datetime.timedelta(days=1)) == []
    garbage = schedules.end_schedule(world.worker, garbage, last_day=MAKEUP_SATURDAY)
    assert schedules.runs_on(garbage, SUNDAY) == []
    with pytest.raises(ValidationError) as err:
        schedules.set_exception(world.worker, garbage, date=SUNDAY, times="09:00")
    assert "有效期" in str(err.value)
    assert AuditLog.objects.filter(action="portal.schedule.end", object_id=str(garbage.pk)).exists()


def test_times_are_normalised_and_sorted(world):
    schedule = make(world.grid_a1, times="19:30，7:30 12:30、07:30", weekdays=["4", 0, 0])
    schedule.refresh_from_db()
    assert schedule.times == ["07:30", "12:30", "19:30"]
    assert schedule.weekdays == [0, 4]
    updated = schedules.update_schedule(world.worker, schedule, times=["14:00～17:30", "08:30-12:00"])
    assert updated.times == ["08:30-12:00", "14:00-17:30"]
    assert AuditLog.objects.filter(action="portal.schedule.update", object_id=str(schedule.pk)).exists()


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"times": ["25:00"]}, "times", "25:00"),
    ({"times": ["12:00-09:00"]}, "times", "晚于"),
    ({"times": []}, "times", "请填写时间"),
    ({"weekdays": [7]}, "weekdays", "周日"),
    ({"weekdays": ["周一"]}, "weekdays", "星期"),
    ({"valid_from": datetime.date(2031, 5, 1), "valid_until": datetime.date(2031, 4, 1)}, "valid_until", "不能早于"),
    ({"title": " "}, "title", "名称"),
])
def test_bad_input_is_refused_in_chinese(world, changes, field, words):
    values = {"area": world.grid_a1, "kind": Kind.GARBAGE, "title": "垃圾清运", "weekdays": [], "times": ["07:30"],
              "calendar_rule": Rule.EVERY_DAY, **changes}
    with pytest.raises(ValidationError) as err:
        schedules.create_schedule(world.worker, **values)
    assert words in " ".join(err.value.message_dict[field])
    assert not ServiceSchedule.objects.exists()


def test_an_exception_needs_times_or_cancelled(world):
    garbage = make(world.grid_a1)
    with pytest.raises(ValidationError) as err:
        schedules.set_exception(world.worker, garbage, date=TUESDAY)
    assert "当天停止" in " ".join(err.value.message_dict["times"])
    with pytest.raises(ValidationError):
        schedules.set_exception(world.worker, garbage, date=TUESDAY, times="24:10")


# ------------------------------------------------------------------------------ at my address


def test_today_for_a_resident_covers_their_building_and_above_only(world, estate, calendar):
    x, y = estate
    mine = make(x, times=["19:30", "07:30"])
    estate_office = make(world.grid_a1, kind=Kind.OFFICE, title="物业窗口", times=["09:00-17:00"], rule=Rule.WORKDAYS)
    clinic = make(world.community_a, kind=Kind.CLINIC, title="卫生站", times=["08:00-11:30"],
                  rule=Rule.NOT_ON_HOLIDAYS, weekdays=range(5), is_public=False)
    make(y, title="9号楼垃圾清运", times=["06:00"])  # another estate's
    make(world.grid_a2, title="东二网格清运", times=["06:30"])  # a sibling grid, not above the resident
    today = schedules.today_for(world.resident, TUESDAY)
    assert [o.schedule for o in today] == [mine, clinic, estate_office]  # by first time
    assert today[0].times == ["07:30", "19:30"]
    assert all(o.area == x and o.note == "" for o in today)
    holiday = schedules.today_for(world.resident, LABOUR_DAY)
    assert [o.schedule for o in holiday] == [mine]
    saturday = schedules.today_for(world.resident, MAKEUP_SATURDAY)
    assert [o.schedule for o in saturday] == [mine, estate_office]
    assert schedules.today_for(world.outsider, TUESDAY) == []  # no home, nothing at an address


def test_week_for_names_the_holidays_and_carries_exception_notes(world, estate, calendar):
    x, _y = estate
    garbage = make(x)
    schedules.set_exception(None, garbage, date=LABOUR_DAY, times=["09:00"], note="劳动节：仅 09:00 清运一次")
    week = schedules.week_for(world.resident, LABOUR_DAY - datetime.timedelta(days=1))
    assert [d.date for d in week] == [LABOUR_DAY + datetime.timedelta(days=i) for i in range(-1, 6)]
    holiday = week[1]
    assert holiday.holiday == "劳动节" and not holiday.is_workday
    assert holiday.occurrences[0].times == ["09:00"]
    assert holiday.occurrences[0].note == "劳动节：仅 09:00 清运一次"


def test_a_pending_residency_sees_nothing_at_the_address(world, estate):
    x, _y = estate
    make(x, is_public=False)
    Residency.objects.filter(user=world.resident).update(status=Residency.Status.PENDING)
    assert schedules.today_for(world.resident, TUESDAY) == []


# ------------------------------------------------------------------------------ who may write


def test_only_managers_of_the_area_write(world, estate):
    x, y = estate
    for actor in (world.outsider, world.resident, world.handler):
        with pytest.raises(PermissionDenied):
            make_as(actor, x)
    assert make_as(world.worker, x).area == x
    assert make_as(world.dispatcher, world.community_a).area == world.community_a
    with pytest.raises(PermissionDenied):
        make_as(world.worker, y)
    garbage = make(x)
    with pytest.raises(PermissionDenied):
        schedules.set_exception(world.outsider, garbage, date=TUESDAY, cancelled=True)
    with pytest.raises(PermissionDenied):
        schedules.update_schedule(world.worker, garbage, area=y)
    assert set(schedules.publishable_areas(world.worker)) == {world.grid_a1, x}
    assert not schedules.publishable_areas(world.resident).exists()


def make_as(actor, area):
    return schedules.create_schedule(actor, area=area, kind=Kind.GARBAGE, title="清运", weekdays=[],
                                     times=["07:30"], calendar_rule=Rule.EVERY_DAY)


# ------------------------------------------------------------------------------ pages


def test_the_resident_page_shows_the_week_with_the_holiday_exception(world, estate, login):
    x, y = estate
    today = timezone.localdate()
    holiday = today + datetime.timedelta(days=2)
    CalendarDay.objects.update_or_create(date=holiday, defaults={"is_workday": False, "name": "春节"})
    garbage = make(x, valid_from=today)
    make(y, title="9号楼清运", times=["06:00"], valid_from=today, is_public=False)
    schedules.set_exception(None, garbage, date=holiday, times=["09:00"], note="春节：仅 09:00 清运一次")
    response = login(world.resident).get(reverse("portal:schedules"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="garbage-today"' in html and "07:30、12:30、19:30" in html
    assert f'id="day-{holiday:%Y-%m-%d}"' in html
    assert "春节：仅 09:00 清运一次" in html and "春节</span>" in html
    assert "9号楼清运" not in html
    assert html.count('class="card day"') == 8  # today and the next seven days


def test_staff_list_filters_by_area_and_hides_other_streets(world, estate, login):
    x, y = estate
    make(x, title="一号楼清运")
    make(world.community_a, kind=Kind.CLINIC, title="东一卫生站", times=["08:00"])
    make(y, title="九号楼清运")  # public, but not the dispatcher's area
    client = login(world.dispatcher)
    html = client.get(reverse("portal:schedules")).content.decode()
    assert "一号楼清运" in html and "东一卫生站" in html and "九号楼清运" not in html
    assert reverse("portal:schedule_new") in html
    html = client.get(reverse("portal:schedules"), {"area": x.pk}).content.decode()
    assert "一号楼清运" in html and "东一卫生站" not in html


def test_detail_shows_the_next_days_and_hides_private_schedules(world, estate, login):
    x, _y = estate
    today = timezone.localdate()
    garbage = make(x, is_public=False, valid_from=today)
    schedules.set_exception(None, garbage, date=today + datetime.timedelta(days=3), cancelled=True, note="检修停运")
    url = reverse("portal:schedule", args=[garbage.pk])
    html = login(world.resident).get(url).content.decode()
    assert html.count('<li id="day-') == 14 and "检修停运" in html
    assert reverse("portal:schedule_edit", args=[garbage.pk]) not in html  # a resident does not manage it
    assert login(world.outsider).get(url).status_code == 404


def test_create_edit_and_exception_pages(world, estate, login):
    x, _y = estate
    client = login(world.worker)
    assert client.get(reverse("portal:schedule_new")).status_code == 200
    bad = client.post(reverse("portal:schedule_new"), {"area": x.pk, "kind": "garbage", "title": "清运",
                                                         "times": "25:00", "calendar_rule": "every_day",
                                                         "valid_from": "2030-01-01"})
    assert bad.status_code == 400 and "25:00" in bad.content.decode()
    response = client.post(reverse("portal:schedule_new"), {
        "area": x.pk, "kind": "garbage", "title": "清运", "times": "07:30 19:30", "calendar_rule": "every_day",
        "weekdays": ["0", "2"], "is_public": "on", "valid_from": timezone.localdate().isoformat()})
    schedule = ServiceSchedule.objects.get(title="清运")
    assert response.status_code == 302 and schedule.weekdays == [0, 2] and schedule.created_by == world.worker
    response = client.post(reverse("portal:schedule_edit", args=[schedule.pk]), {
        "area": x.pk, "kind": "garbage", "title": "清运", "times": "08:00", "calendar_rule": "workdays",
        "valid_from": timezone.localdate().isoformat()})
    schedule.refresh_from_db()
    assert response.status_code == 302 and schedule.times == ["08:00"] and schedule.calendar_rule == "workdays"
    day = timezone.localdate() + datetime.timedelta(days=1)
    client.post(reverse("portal:schedule_exception", args=[schedule.pk]),
                {"date": day.isoformat(), "times": "09:00", "note": "春节：仅 09:00 清运一次"})
    exception = ScheduleException.objects.get(schedule=schedule)
    assert exception.times == ["09:00"]
    client.post(reverse("portal:schedule_exception_delete", args=[schedule.pk, exception.pk]))
    assert not ScheduleException.objects.exists()


def test_pages_refuse_those_who_do_not_manage(world, estate, login):
    x, _y = estate
    garbage = make(x)  # public: everyone may read it
    assert login(world.resident).get(reverse("portal:schedule_new")).status_code == 403
    for user in (world.resident, world.outsider):  # the outsider manages grid B1 only
        client = login(user)
        assert client.get(reverse("portal:schedule_edit", args=[garbage.pk])).status_code == 403
        response = client.post(reverse("portal:schedule_exception", args=[garbage.pk]),
                               {"date": "2031-05-06", "cancelled": "on"})
        assert response.status_code == 403
    assert not ScheduleException.objects.exists()
    assert login(world.resident).get(reverse("portal:schedule_edit", args=[0])).status_code == 404

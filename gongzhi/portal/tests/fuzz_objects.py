"""Portal objects for tests outside this app that need real ids (the API fuzzer's aimed ids):
``board_in_street_a(world)`` publishes a notice and a 公开栏 item of 东一社区, which the command center
of 东街道 reads (``notice_id``, ``disclosure_id``: the API's path parameter names)."""

from __future__ import annotations


def board_in_street_a(world) -> dict[str, int]:
    from django.utils import timezone

    from gongzhi.portal import disclosures, notices

    notice = notices.publish_notice(None, area=world.community_a, title="东一停水", body="周六停水",
                                    valid_from=timezone.localdate())
    item = disclosures.create_disclosure(None, area=world.community_a, kind="rules", title="东一居民公约")
    disclosures.publish_version(None, item, body="第一条")
    return {"notice_id": notice.pk, "disclosure_id": item.pk}


def matrix_objects(world) -> dict[str, str]:
    """The permission matrix's portal objects (gongzhi/core/permmatrix.py OBJECTS): a notice of 东一社区 for
    its residents only, a 公开栏 item of 东一社区 with one version, a garbage schedule of 东一社区 with an
    exception tomorrow, and the resident's pending request to live in 东一网格."""
    import datetime

    from django.utils import timezone

    from gongzhi.portal import disclosures, notices, residency, schedules

    today = timezone.localdate()
    notice = notices.publish_notice(None, area=world.community_a, title="东一停水", body="周六停水", valid_from=today)
    item = disclosures.create_disclosure(None, area=world.community_a, kind="rules", title="东一居民公约")
    disclosures.publish_version(None, item, body="第一条")
    schedule = schedules.create_schedule(None, area=world.community_a, kind="garbage", title="东一垃圾清运",
                                         weekdays=[], times=["07:30"], calendar_rule="every_day")
    exception = schedules.set_exception(None, schedule, date=today + datetime.timedelta(days=1), times=["09:00"])
    home = residency.request_residency(world.resident, area=world.grid_a1, unit="1-101")
    return {"board_notice": str(notice.pk), "disclosure": str(item.pk), "schedule": str(schedule.pk),
            "schedule_exception": str(exception.pk), "residency": str(home.pk)}

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

"""Points objects for tests outside this app that need real ids (the API fuzzer's aimed ids):
``activity_in_street_a(world)`` publishes an upcoming activity of 东一社区 (the dispatcher of 东街道
manages it, so ``GET /api/v1/points/activities/{activity_id}`` answers 200) and an offer of a
merchant there."""

from __future__ import annotations

import datetime


def activity_in_street_a(world) -> dict[str, int]:
    """``{"activity_id": …, "offer_id": …}`` (the API's path parameter names)."""
    from django.utils import timezone

    from gongzhi.points import services

    start = timezone.now() + datetime.timedelta(days=1)
    activity = services.create_activity(actor=None, area=world.community_a, organiser=world.dispatcher,
                                        title="楼道清洁", starts_at=start, ends_at=start + datetime.timedelta(hours=2),
                                        slots=5, points_per_hour=10, cap_points=20)
    merchant = services.create_merchant(actor=None, area=world.community_a, name="喜邻小店")
    offer = services.create_offer(merchant, actor=None, title="饮料一瓶", gives="矿泉水一瓶", price=5,
                                  valid_from=timezone.now() - datetime.timedelta(hours=1))
    return {"activity_id": activity.pk, "offer_id": offer.pk}

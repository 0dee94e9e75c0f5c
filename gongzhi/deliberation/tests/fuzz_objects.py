"""A counted decision with its published result, for tests outside this app that need one (the API
fuzzer's aimed ids): ``decision_in_street_a(world)`` builds 东一花园's roll (``conftest.make_roll``),
opens a Civil Code art. 278 ordinary decision on it, closes and publishes it; the dispatcher of
东街道 manages it, 林一凡 (``world.resident``) is one of its electors."""

from __future__ import annotations


def decision_in_street_a(world) -> dict[str, int]:
    """``{"decision_id": …, "publication_id": …}`` (the API's path parameter names)."""
    from gongzhi.deliberation import results, services
    from gongzhi.deliberation.tests.conftest import make_roll

    roll = make_roll(world.community_a, resident=world.resident)
    decision = services.create_decision(actor=None, area=world.community_a, roll=roll.roll, title="更换门禁",
                                        preset="civil_code_278_ordinary")
    decision = services.open_decision(decision, actor=None)
    results.close_decision(decision, actor=None)
    publication = services.publish_result(decision, actor=None, channel="小区公告栏")
    return {"decision_id": decision.pk, "publication_id": publication.pk}

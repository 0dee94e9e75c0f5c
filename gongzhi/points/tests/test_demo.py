"""The demo: two activities in 新城社区 (the resident checked out of last week's, awaiting
confirmation), a partner merchant with two offers; no ledger rows, so the demo can be reset."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_demo_points_and_the_organiser_confirms():
    from gongzhi.conftest import ensure_reference_data
    from gongzhi.core.demo import build_demo_city, reset_demo_city
    from gongzhi.orgs.models import User
    from gongzhi.points import services
    from gongzhi.points.demo import build_demo_points
    from gongzhi.points.models import Activity, Entry, Offer, Signup

    ensure_reference_data()
    build_demo_city()
    assert build_demo_points() == 2
    assert build_demo_points() == 0
    assert Offer.objects.count() == 2 and not Entry.objects.exists()
    signup = Signup.objects.get(resident__username="resident")
    assert signup.status == Signup.Status.CHECKED_OUT
    secretary = User.objects.get(username="xc-secretary")
    assert services.can_manage(secretary, signup.activity.area)  # the demo's organiser may confirm
    assert reset_demo_city() and not Activity.objects.exists()

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


@pytest.mark.django_db
def test_merchant_staff_added_in_the_admin_are_audited(client):
    from gongzhi.conftest import ensure_reference_data
    from gongzhi.core.demo import build_demo_city
    from gongzhi.core.models import AuditLog
    from gongzhi.orgs.models import User
    from gongzhi.points.demo import build_demo_points
    from gongzhi.points.models import Merchant, MerchantStaff

    ensure_reference_data()
    build_demo_city()
    build_demo_points()
    merchant = Merchant.objects.get()
    cashier = User.objects.get(username="fh-member")
    client.force_login(User.objects.get(username="admin"))
    url = f"/admin/points/merchant/{merchant.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form.initial.get(name, "") or "" for name in form.fields}
    data.update({"area": merchant.area_id, "is_active": "on",
                 "staff-TOTAL_FORMS": "1", "staff-INITIAL_FORMS": "0", "staff-MIN_NUM_FORMS": "0",
                 "staff-MAX_NUM_FORMS": "1000", "staff-0-user": cashier.pk, "staff-0-is_active": "on"})
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert MerchantStaff.objects.filter(merchant=merchant, user=cashier).exists()
    assert AuditLog.objects.filter(action="merchantstaff.create").exists()
    assert AuditLog.objects.filter(action="merchant.update").exists()

"""The admin: a scheme is added as a new version (checked), activated by an action, never edited in place."""

from __future__ import annotations

import copy
import json

from gongzhi.safety.grading import DEFAULT_RULES
from gongzhi.safety.models import GradingScheme, PoliceArea


def test_adding_a_scheme_makes_a_new_version_and_the_action_activates_it(world, scheme, login):
    client = login(world.admin)
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["combine"] = {"method": "worst"}
    response = client.post("/admin/safety/gradingscheme/add/", {"name": "从严", "rules": json.dumps(rules),
                                                                "note": "取最差"})
    assert response.status_code == 302
    new = GradingScheme.objects.get(name="从严")
    assert new.version == scheme.version + 1 and not new.is_active
    client.post("/admin/safety/gradingscheme/", {"action": "activate", "_selected_action": [new.pk]})
    new.refresh_from_db()
    scheme.refresh_from_db()
    assert new.is_active and not scheme.is_active
    bad = copy.deepcopy(DEFAULT_RULES)
    bad["satisfaction"]["bands"] = [1, 2, 3, 4]
    response = client.post("/admin/safety/gradingscheme/add/", {"name": "错", "rules": json.dumps(bad)})
    assert response.status_code == 200 and "递减" in response.content.decode()
    assert client.get(f"/admin/safety/gradingscheme/{new.pk}/change/").status_code == 200


def test_a_jurisdiction_with_a_broken_boundary_is_refused(world, login):
    client = login(world.admin)
    response = client.post("/admin/safety/policearea/add/", {
        "name": "南派出所辖区", "code": "pa-s", "population": "1000", "is_active": "on",
        "geometry": json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}),
        "covers": [world.street_a.pk]})
    assert response.status_code == 200 and not PoliceArea.objects.exists()

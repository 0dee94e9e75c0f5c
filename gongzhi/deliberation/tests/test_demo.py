"""The demo: 凤凰小巷's roll of 24 households, the elevator vote counted and published with its
project, the renovation vote open (the demo resident votes online), meetings and a 四议 matter;
``load_demo --reset`` removes all of it."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_demo_deliberation_the_resident_votes_and_the_reset_removes_it():
    from gongzhi.conftest import ensure_reference_data
    from gongzhi.core.demo import build_demo_city, reset_demo_city
    from gongzhi.deliberation import meetings, services
    from gongzhi.deliberation.demo import build_demo_deliberation
    from gongzhi.deliberation.models import (
        Decision,
        MeetingSeries,
        PaperEntry,
        Procedure,
        Project,
        Publication,
        ShareStatement,
        VoterRoll,
    )
    from gongzhi.orgs.models import User

    ensure_reference_data()
    build_demo_city()
    assert build_demo_deliberation() == 2
    assert build_demo_deliberation() == 0
    elevator = Decision.objects.get(title__contains="加装电梯")
    assert elevator.status == Decision.Status.PUBLISHED and elevator.questions.get().result.passed
    assert not PaperEntry.objects.exclude(status=PaperEntry.Status.MATCHED).exists()
    project = Project.objects.get(decision=elevator)
    assert sum(s.amount for s in ShareStatement.objects.filter(project=project)) == project.owners_share
    renovation = Decision.objects.get(status=Decision.Status.OPEN)
    resident = User.objects.get(username="resident")
    services.cast_online(renovation, actor=resident, choices={1: "for", 2: "for"})
    assert renovation.participations.count() == 11  # ten door-to-door households and the resident
    assert [s.name for s in MeetingSeries.objects.all() if meetings.is_overdue(s)] == ["新城社区三方联席会议"]
    assert Procedure.objects.get().publications.count() == 1
    assert reset_demo_city()
    for model in (VoterRoll, Decision, Project, Publication, MeetingSeries, Procedure):
        assert not model.objects.exists(), model

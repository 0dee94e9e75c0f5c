"""Admin: voter rolls (rolls, units, members) and meeting cadences are editable here, each change
audited; everything a vote produced — decisions, questions, electors, participations, votes, paper
entries, results, publications and objections — is read-only: no add, no change, no delete. Those
rows move only through the services (``services``, ``results``, ``publicity``), and a result or a
ballot is never edited by hand. A vote shows no elector (a secret vote has none to show anyway)."""

from __future__ import annotations

from django.contrib import admin

from gongzhi.core.adminaudit import AuditedModelAdmin, ReadOnlyAdmin, ReadOnlyInline

from .models import (
    Decision,
    Elector,
    Electorate,
    MeetingSeries,
    Member,
    Objection,
    PaperEntry,
    Participation,
    Publication,
    Question,
    Result,
    Unit,
    Vote,
    VoterRoll,
)

# ------------------------------------------------------------------------------------ editable


@admin.register(VoterRoll)
class VoterRollAdmin(AuditedModelAdmin):
    audit_prefix = "deliberation.roll"
    list_display = ["name", "area", "kind", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name", "area__name", "area__code"]
    raw_id_fields = ["area", "created_by"]


@admin.register(Unit)
class UnitAdmin(AuditedModelAdmin):
    audit_prefix = "deliberation.unit"
    list_display = ["code", "building", "floor_area", "roll"]
    search_fields = ["code", "roll__name"]
    raw_id_fields = ["roll"]


@admin.register(Member)
class MemberAdmin(AuditedModelAdmin):
    audit_prefix = "deliberation.member"
    list_display = ["name", "unit", "roll", "is_head", "is_adult", "is_representative"]
    list_filter = ["is_head", "is_adult", "is_representative"]
    search_fields = ["name", "phone", "unit__code", "roll__name"]
    raw_id_fields = ["roll", "unit", "user"]


@admin.register(MeetingSeries)
class MeetingSeriesAdmin(AuditedModelAdmin):
    audit_prefix = "deliberation.series"
    list_display = ["name", "area", "kind", "every_months", "next_due", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "area__name"]
    raw_id_fields = ["area", "organiser"]


# ------------------------------------------------------------------------------------ read-only


class ElectorateInline(ReadOnlyInline):
    model = Electorate
    fields = ["key", "name", "buildings"]


class QuestionInline(ReadOnlyInline):
    model = Question
    fields = ["position", "text", "preset", "rule_text", "requires"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["title", "area", "status", "ballot_unit", "secret", "opened_at", "closed_at"]
    list_filter = ["status", "ballot_unit", "secret"]
    search_fields = ["title"]
    inlines = [ElectorateInline, QuestionInline]


@admin.register(Question)
class QuestionAdmin(ReadOnlyAdmin):
    list_display = ["text", "decision", "position", "preset"]
    search_fields = ["text", "decision__title"]


@admin.register(Elector)
class ElectorAdmin(ReadOnlyAdmin):
    list_display = ["label", "decision", "unit_codes", "building", "persons", "households", "floor_area"]
    search_fields = ["label", "unit_codes", "decision__title"]


@admin.register(Participation)
class ParticipationAdmin(ReadOnlyAdmin):
    list_display = ["decision", "elector", "channel", "voted", "attended", "at"]
    list_filter = ["channel", "voted", "attended"]


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    """How ballots answered, never who cast them: no elector column, no elector field."""

    # Not the building or the floor area: in a secret decision they are all that is left of the voter,
    # and a unique area in a building would point at them. The tally needs them; a list does not.
    list_display = ["question", "choice"]
    list_filter = ["choice"]
    exclude = ["elector", "building", "floor_area", "persons", "households", "representatives"]


@admin.register(PaperEntry)
class PaperEntryAdmin(ReadOnlyAdmin):
    list_display = ["decision", "elector", "serial", "channel", "status", "entered_by", "at"]
    list_filter = ["status", "channel"]


@admin.register(Result)
class ResultAdmin(ReadOnlyAdmin):
    list_display = ["question", "passed", "computed_at"]
    list_filter = ["passed"]


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "area", "starts_on", "ends_on", "content_hash"]
    list_filter = ["kind"]
    search_fields = ["title"]


@admin.register(Objection)
class ObjectionAdmin(ReadOnlyAdmin):
    list_display = ["publication", "raised_by_name", "raised_at", "answered_at"]

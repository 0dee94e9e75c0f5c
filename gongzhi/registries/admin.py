"""Admin: the registries' reference data (key-person categories, difficulty kinds, placement bases,
legal advisers, retention rules) is editable, each change audited. Every record about a person is
read-only here — services write them — and its sealed fields show the mask only (``str(sealed)``):
the admin is no back door around the reveal door. The access log and export requests are read-only.
Sealed fields are never searched or filtered on (their ciphertext is randomised)."""

from django.contrib import admin

from gongzhi.core.adminaudit import AuditedModelAdmin, ReadOnlyAdmin

from . import models as m
from .crypto import sealed_fields


@admin.register(m.KeyCategory)
class KeyCategoryAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "name_en", "visit_every_days", "is_health", "is_criminal", "is_active"]
    list_filter = ["is_active", "is_health", "is_criminal"]
    search_fields = ["code", "name", "name_en"]


@admin.register(m.DifficultyKind)
class DifficultyKindAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "name_en", "is_health"]
    search_fields = ["code", "name", "name_en"]


@admin.register(m.PlacementBase)
class PlacementBaseAdmin(AuditedModelAdmin):
    list_display = ["name", "kind", "area", "contact", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    raw_id_fields = ["area"]


@admin.register(m.LegalAdviser)
class LegalAdviserAdmin(AuditedModelAdmin):
    list_display = ["name", "firm", "area", "phone", "started_on", "ended_on"]
    search_fields = ["name", "firm"]
    raw_id_fields = ["area", "user"]


@admin.register(m.RetentionRule)
class RetentionRuleAdmin(AuditedModelAdmin):
    list_display = ["registry", "years"]


class SealedReadOnlyAdmin(ReadOnlyAdmin):
    """Read-only; the list shows the record's plain columns and its sealed fields masked."""

    shown: tuple[str, ...] = ()

    def get_list_display(self, request):
        return list(self.shown) or ["__str__"]

    def get_exclude(self, request, obj=None):
        return [f.name for f in self.model._meta.concrete_fields if f.name.endswith("_index")]


READ_ONLY = {
    m.Household: ("number", "area", "address", "created_at", "closed_at"),
    m.Person: ("name", "area", "id_number", "phone", "residence", "closed_at"),
    m.FloatingRegistration: ("person", "area", "address", "moved_in_on", "moved_out_on"),
    m.KeyPerson: ("person", "category", "level", "responsible", "next_visit_due", "ended_on"),
    m.Correction: ("person", "kind", "status", "term_start", "term_end", "department"),
    m.TeamMember: ("correction", "role", "name", "phone"),
    m.CorrectionReport: ("correction", "kind", "on"),
    m.RiskAssessment: ("correction", "assessed_on", "total", "level"),
    m.ServiceHours: ("correction", "on", "hours", "base"),
    m.NeedCase: ("household", "level", "helper", "opened_on", "closed_on"),
    m.AssistancePlan: ("case", "starts_on", "review_on", "responsible"),
    m.HelpRecord: ("case", "kind", "on", "amount"),
    m.ReliefBatch: ("name", "area", "goods", "opened_on", "closed_at"),
    m.ReliefRecipient: ("batch", "household", "quantity", "issued_at", "signed_by"),
    m.Consultation: ("topic", "area", "requester", "on"),
    m.Mediation: ("number", "kind", "status", "area", "received_on", "closed_on"),
    m.MediationParty: ("mediation", "side", "name", "phone"),
    m.MediationSession: ("mediation", "on", "place"),
    m.Visit: ("at", "purpose", "visitor", "area"),
    m.AccessLog: ("at", "user_name", "registry", "object_type", "object_id", "purpose", "reason"),
    m.ExportRequest: ("requested_at", "registry", "area", "requested_by", "status", "decided_by", "expires_at"),
}

for _model, _shown in READ_ONLY.items():
    admin.site.register(_model, type(f"{_model.__name__}Admin", (SealedReadOnlyAdmin,), {
        "shown": _shown, "__module__": __name__,
        "list_filter": [n for n in ("status", "registry", "purpose", "kind", "level") if n in
                        {f.name for f in _model._meta.fields} and n not in {f.name for f in sealed_fields(_model)}],
    }))

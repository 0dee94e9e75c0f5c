"""Admin: reference data (merchants, staff, offers) is editable, each change audited; the ledger and every row whose
state the services move (signups, good deeds, vouchers, batches) are read-only here."""

from django.contrib import admin

from gongzhi.core.adminaudit import AuditedInlinesMixin, AuditedModelAdmin, ReadOnlyAdmin

from .models import (
    Account,
    Activity,
    BatchMove,
    Certificate,
    EarningBatch,
    Entry,
    GoodDeed,
    Merchant,
    MerchantStaff,
    Offer,
    Signup,
    Transaction,
    Voucher,
)


class StaffInline(admin.TabularInline):
    model = MerchantStaff
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Merchant)
class MerchantAdmin(AuditedInlinesMixin, AuditedModelAdmin):
    list_display = ["name", "area", "phone", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "address"]
    inlines = [StaffInline]


@admin.register(Offer)
class OfferAdmin(AuditedModelAdmin):
    list_display = ["title", "merchant", "price", "stock", "per_person_limit", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["title", "merchant__name"]


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ["title", "area", "starts_at", "slots", "points_per_hour", "difficulty", "status"]
    search_fields = ["title"]


@admin.register(Signup)
class SignupAdmin(ReadOnlyAdmin):
    list_display = ["activity", "resident", "status", "minutes", "points"]
    list_filter = ["status"]


@admin.register(GoodDeed)
class GoodDeedAdmin(ReadOnlyAdmin):
    list_display = ["resident", "area", "occurred_on", "status", "points"]
    list_filter = ["status"]


@admin.register(Voucher)
class VoucherAdmin(ReadOnlyAdmin):
    list_display = ["code", "offer", "resident", "price", "status", "issued_at", "redeemed_at"]
    list_filter = ["status"]
    search_fields = ["code"]


class EntryInline(admin.TabularInline):
    model = Entry
    extra = 0
    can_delete = False
    readonly_fields = ["account", "amount"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "created_at", "actor", "note"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key"]
    inlines = [EntryInline]


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "user", "area", "merchant", "balance"]
    list_filter = ["kind"]


@admin.register(EarningBatch)
class EarningBatchAdmin(ReadOnlyAdmin):
    list_display = ["account", "amount", "remaining", "earned_at", "expires_at", "expired_at"]


admin.site.register(BatchMove, ReadOnlyAdmin)


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ["code", "resident", "minutes", "services", "issuer", "issued_on"]
    search_fields = ["code"]

"""The registries' privacy tables: who saw what and why (``AccessLog``), exports waiting for a second
person (``ExportRequest``), and how long closed records are kept (``RetentionRule``). Imported by
``models.py``; docs/registries.md#reveal, #exports, #retention."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.core.models import AppendOnlyMixin

from .models import Person, Registry

USER = settings.AUTH_USER_MODEL


# ------------------------------------------------------------------------------ privacy


class AccessLog(AppendOnlyMixin, models.Model):
    """Every full view of a sensitive record (and every approved export and subject export):
    who, when, what, why. Append-only, like the audit log; shown to the person's officers."""

    class Purpose(models.TextChoices):
        VISIT = "visit", _("走访核实")
        CASE = "case", _("办理案件")
        ASSISTANCE = "assistance", _("帮扶救助")
        CORRECTION = "correction", _("矫正监管")
        LEGAL = "legal", _("法律服务")
        SUBJECT = "subject", _("本人申请查阅/导出")
        EXPORT = "export", _("审批导出")
        OTHER = "other", _("其他（须说明）")

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    user = models.ForeignKey(USER, verbose_name=_("查看人"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    user_name = models.CharField(_("查看人名称"), max_length=150)
    registry = models.CharField(_("台账"), max_length=16, choices=Registry.choices)
    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象编号"), max_length=64, db_index=True)
    person = models.ForeignKey(Person, verbose_name=_("人员"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="access_logs")
    purpose = models.CharField(_("用途"), max_length=16, choices=Purpose.choices)
    reason = models.CharField(_("用途说明"), max_length=200)
    fields = models.JSONField(_("查看字段"), default=list)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("敏感信息访问日志")
        verbose_name_plural = _("敏感信息访问日志")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user_name} {self.object_type}#{self.object_id}"



class ExportRequest(models.Model):
    """An export of sensitive data: asked for with a purpose, approved by a second person, downloaded
    within its validity (two-person rule). A subject export (a person's own data) is the same with
    ``person`` set."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REFUSED = "refused", _("已驳回")
        USED = "used", _("已下载")
        EXPIRED = "expired", _("已过期")

    registry = models.CharField(_("台账"), max_length=16, choices=Registry.choices)
    area = models.ForeignKey("areas.Area", verbose_name=_("范围"), on_delete=models.PROTECT,
                             related_name="registry_exports")
    person = models.ForeignKey(Person, verbose_name=_("本人数据"), null=True, blank=True,
                               on_delete=models.CASCADE, related_name="exports")
    purpose = models.CharField(_("用途"), max_length=16, choices=AccessLog.Purpose.choices)
    reason = models.CharField(_("用途说明"), max_length=200)
    requested_by = models.ForeignKey(USER, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    decided_by = models.ForeignKey(USER, verbose_name=_("审批人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=200, blank=True)
    expires_at = models.DateTimeField(_("有效期至"), null=True, blank=True)
    downloaded_at = models.DateTimeField(_("下载时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("敏感信息导出申请")
        verbose_name_plural = _("敏感信息导出申请")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(decided_by__isnull=True)
                                   | ~models.Q(decided_by=models.F("requested_by")),
                                   name="export_two_persons"),
        ]

    def __str__(self) -> str:
        return f"{self.get_registry_display()} · {self.requested_at:%Y-%m-%d}"


class RetentionRule(models.Model):
    """How long a registry keeps a closed record before the worker anonymises it."""

    registry = models.CharField(_("台账"), max_length=16, choices=Registry.choices, unique=True)
    years = models.PositiveSmallIntegerField(_("保存年限（结案后）"))

    class Meta:
        verbose_name = _("保存期限")
        verbose_name_plural = _("保存期限")
        ordering = ["registry"]

    def __str__(self) -> str:
        return f"{self.get_registry_display()}: {self.years}"

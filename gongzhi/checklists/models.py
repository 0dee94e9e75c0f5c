"""Checklists as XLSForms (issue 8): one checklist for the four departments of a joint inspection.

A ``Checklist`` has numbered ``ChecklistVersion``s (ARCHITECTURE pattern 5, like MapIt generations):
an uploaded workbook is checked and stored as a new version, then activated; exactly one version of
a checklist is active, and a visit keeps the version it was filled in with (its foreign key points at
the version, which is never changed after upload). ``definition`` is the parsed form (see
``xlsform.parse_workbook``), ``source`` the workbook as uploaded.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Checklist(models.Model):
    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("检查表")
        verbose_name_plural = _("检查表")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def active_version(self) -> ChecklistVersion | None:
        return self.versions.filter(status=ChecklistVersion.Status.ACTIVE).first()


class ChecklistVersion(models.Model):
    class Status(models.TextChoices):
        CHECKED = "checked", _("已校验待启用")
        ACTIVE = "active", _("启用中")
        RETIRED = "retired", _("已停用")

    checklist = models.ForeignKey(Checklist, verbose_name=_("检查表"), on_delete=models.PROTECT,
                                  related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.CHECKED)
    title = models.CharField(_("表单标题"), max_length=200)
    form_id = models.CharField(_("表单 ID"), max_length=100)
    form_version = models.CharField(_("表单版本"), max_length=100, blank=True,
                                    help_text=_("settings 工作表中的 version"))
    definition = models.JSONField(_("表单定义"), editable=False)
    source = models.BinaryField(_("原始工作簿"), editable=False)
    source_name = models.CharField(_("文件名"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now, editable=False)
    activated_at = models.DateTimeField(_("启用时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("检查表版本")
        verbose_name_plural = _("检查表版本")
        ordering = ["checklist", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["checklist", "number"], name="checklist_version_number"),
            models.UniqueConstraint(fields=["checklist"], condition=Q(status="active"),
                                    name="checklist_one_active_version"),
        ]

    def __str__(self) -> str:
        return f"{self.checklist} v{self.number}"

    @property
    def form(self):
        """The parsed form (``xlsform.Form``), built from ``definition`` once per object."""
        cached = getattr(self, "_form", None)
        if cached is None:
            from .xlsform import Form

            cached = self._form = Form.from_definition(self.definition)
        return cached

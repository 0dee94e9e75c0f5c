"""Joint inspections (星火工作站): stations, teams of one member per department, visits, the hazards
a visit finds and the rectification notices (整改通知书) it issues. Writes go through services.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Station(models.Model):
    """A 星火工作站: one per community."""

    area = models.OneToOneField("areas.Area", verbose_name=_("所在社区"), on_delete=models.PROTECT,
                                related_name="inspection_station")
    name = models.CharField(_("名称"), max_length=100)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("星火工作站")
        verbose_name_plural = _("星火工作站")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """An inspection team of a station: one member from each participating department."""

    station = models.ForeignKey(Station, verbose_name=_("工作站"), on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("名称"), max_length=100)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("检查小组")
        verbose_name_plural = _("检查小组")
        ordering = ["station", "name"]
        constraints = [models.UniqueConstraint(fields=["station", "name"], name="inspections_team_unique_name")]

    def __str__(self) -> str:
        return f"{self.station} · {self.name}"


class TeamMember(models.Model):
    team = models.ForeignKey(Team, verbose_name=_("检查小组"), on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("人员"), on_delete=models.PROTECT,
                             related_name="inspection_teams")
    department = models.ForeignKey("orgs.Department", verbose_name=_("部门"), on_delete=models.PROTECT,
                                   related_name="inspection_members")

    class Meta:
        verbose_name = _("小组成员")
        verbose_name_plural = _("小组成员")
        constraints = [
            models.UniqueConstraint(fields=["team", "department"], name="inspections_one_member_per_department"),
            models.UniqueConstraint(fields=["team", "user"], name="inspections_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.department}"


class Visit(models.Model):
    """One inspection of one premises by a team, with one checklist version filled in."""

    team = models.ForeignKey(Team, verbose_name=_("检查小组"), on_delete=models.PROTECT, related_name="visits")
    premises = models.ForeignKey("premises.Premises", verbose_name=_("场所"), on_delete=models.PROTECT,
                                 related_name="inspection_visits")
    checklist_version = models.ForeignKey("checklists.ChecklistVersion", verbose_name=_("检查表版本"),
                                          on_delete=models.PROTECT, related_name="visits")
    answers = models.JSONField(_("检查结果"), default=dict, blank=True)
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("记录人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    acknowledged_by = models.CharField(_("经营者签收人"), max_length=100, blank=True)
    signature = models.FileField(_("签名"), upload_to="inspections/signatures/%Y/%m/", max_length=255, blank=True)

    class Meta:
        verbose_name = _("检查记录")
        verbose_name_plural = _("检查记录")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["premises", "-started_at"], name="inspections_visit_premises")]

    def __str__(self) -> str:
        return f"{self.premises} · {self.started_at:%Y-%m-%d}"


class Hazard(models.Model):
    """A failed checklist item: owned by its department, to be fixed by the deadline."""

    class Status(models.TextChoices):
        OPEN = "open", _("待整改")
        FIXED = "fixed", _("已整改")
        ESCALATED = "escalated", _("已升级")

    class Severity(models.TextChoices):
        MINOR = "minor", _("一般")
        MAJOR = "major", _("较大")
        CRITICAL = "critical", _("重大")

    visit = models.ForeignKey(Visit, verbose_name=_("检查记录"), on_delete=models.PROTECT, related_name="hazards")
    premises = models.ForeignKey("premises.Premises", verbose_name=_("场所"), on_delete=models.PROTECT,
                                 related_name="hazards")
    item_name = models.CharField(_("检查项代码"), max_length=100)
    item_label = models.CharField(_("检查项"), max_length=500)
    answer = models.JSONField(_("检查结论"), default=list, blank=True)
    department = models.ForeignKey("orgs.Department", verbose_name=_("责任部门"), on_delete=models.PROTECT,
                                   related_name="hazards")
    severity = models.CharField(_("严重程度"), max_length=10, choices=Severity.choices, default=Severity.MINOR)
    legal_basis = models.TextField(_("法律依据"), blank=True)
    rectification_days = models.PositiveSmallIntegerField(_("整改期限（工作日）"))
    deadline = models.DateTimeField(_("整改期限"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    escalation_level = models.PositiveSmallIntegerField(_("升级级别"), default=0)
    fixed_at = models.DateTimeField(_("整改完成时间"), null=True, blank=True)
    fixed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("复查人"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("发现时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("隐患")
        verbose_name_plural = _("隐患")
        ordering = ["deadline", "pk"]
        indexes = [
            models.Index(fields=["department", "status", "deadline"], name="inspections_hazard_dept"),
            models.Index(fields=["premises", "item_name"], name="inspections_hazard_item"),
        ]

    def __str__(self) -> str:
        return f"{self.premises} · {self.item_label}"


class NoticeSequence(models.Model):
    """The last notice number a department gave in a year (taken with UPDATE … RETURNING)."""

    department = models.ForeignKey("orgs.Department", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["department", "year"], name="inspections_notice_seq_unique")]

    def __str__(self) -> str:
        return f"{self.department_id}/{self.year}: {self.last}"


class Notice(models.Model):
    """整改通知书: one per department involved in a visit, listing that department's hazards."""

    visit = models.ForeignKey(Visit, verbose_name=_("检查记录"), on_delete=models.PROTECT, related_name="notices")
    department = models.ForeignKey("orgs.Department", verbose_name=_("发文部门"), on_delete=models.PROTECT,
                                   related_name="notices")
    year = models.PositiveSmallIntegerField(_("年度"))
    serial = models.PositiveIntegerField(_("序号"))
    number = models.CharField(_("文号"), max_length=150)
    deadline = models.DateTimeField(_("整改期限"))
    hazards = models.ManyToManyField(Hazard, verbose_name=_("隐患"), related_name="notices")
    issued_at = models.DateTimeField(_("发出时间"), default=timezone.now)

    class Meta:
        verbose_name = _("整改通知书")
        verbose_name_plural = _("整改通知书")
        ordering = ["-issued_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["department", "year", "serial"], name="inspections_notice_serial_unique"),
        ]

    def __str__(self) -> str:
        return self.number

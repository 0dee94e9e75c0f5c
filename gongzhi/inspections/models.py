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


class VisitPhoto(models.Model):
    """A photo answer of a visit (a checklist ``photo`` question), re-encoded without EXIF. The visit's
    answer for that question is the question name; the photo is found by (visit, question)."""

    visit = models.ForeignKey(Visit, verbose_name=_("检查记录"), on_delete=models.CASCADE, related_name="photos")
    question = models.CharField(_("检查项代码"), max_length=100)
    image = models.FileField(_("照片"), upload_to="inspections/%Y/%m/", max_length=255)
    thumbnail = models.FileField(_("缩略图"), upload_to="inspections/%Y/%m/", max_length=255)

    class Meta:
        verbose_name = _("检查照片")
        verbose_name_plural = _("检查照片")
        constraints = [models.UniqueConstraint(fields=["visit", "question"], name="inspections_photo_once")]

    def __str__(self) -> str:
        return f"{self.visit_id} · {self.question}"


class Hazard(models.Model):
    """A failed checklist item: owned by its department, to be fixed by the deadline."""

    class Status(models.TextChoices):
        OPEN = "open", _("待整改")
        FIXED = "fixed", _("已整改")
        ESCALATED = "escalated", _("已升级")
        TRANSFERRED = "transferred", _("已移交执法")

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
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.OPEN)
    escalation_level = models.PositiveSmallIntegerField(_("升级级别"), default=0,
                                                        help_text=_("升级阶梯中的级别；0 表示尚未升级"))
    #: Earlier failures of the same item at the same premises in the 12 months before this one.
    earlier_failures = models.PositiveSmallIntegerField(_("12 个月内此前不合格次数"), default=0)
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


class HazardEvent(models.Model):
    """The timeline of a hazard: found, re-inspected (fixed / not fixed), escalated, transferred."""

    class Kind(models.TextChoices):
        FOUND = "found", _("发现")
        FIXED = "fixed", _("复查已整改")
        NOT_FIXED = "not_fixed", _("复查未整改")
        ESCALATED = "escalated", _("升级")
        TRANSFERRED = "transferred", _("移交执法")
        MEETING = "meeting", _("提交联席会议")

    hazard = models.ForeignKey(Hazard, verbose_name=_("隐患"), on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("事件"), max_length=12, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(_("升级级别"), default=0)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("隐患记录")
        verbose_name_plural = _("隐患记录")
        ordering = ["hazard", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.hazard_id} · {self.kind}"


class EscalationStep(models.Model):
    """One rung of the ladder an unfixed hazard climbs (提醒 → 联合通告 → 约谈 → 挂牌督办 → 移交执法).
    The ladder is data: an admin may add, rename or re-time rungs."""

    level = models.PositiveSmallIntegerField(_("级别"), unique=True, help_text=_("从 1 开始，逐级递增"))
    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("英文名称"), max_length=50, blank=True)
    rectification_days = models.PositiveSmallIntegerField(
        _("再次整改期限（工作日）"), default=5, help_text=_("此级别下给经营者的整改时间，到期再复查"))
    transfers = models.BooleanField(_("移交执法"), default=False,
                                    help_text=_("到此级别即移交执法，隐患不再复查"))
    goes_to_meeting = models.BooleanField(_("提交联席会议"), default=False,
                                          help_text=_("到此级别的隐患列入下次联席会议议程"))

    class Meta:
        verbose_name = _("升级阶梯")
        verbose_name_plural = _("升级阶梯")
        ordering = ["level"]

    def __str__(self) -> str:
        return f"{self.level}. {self.name}"


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


class Reinspection(models.Model):
    """回头看: a re-inspection of one notice's hazards at its deadline. ``round`` 1 is at the notice's
    deadline, each further round at the deadline a step of the ladder gave. One row per (notice, round):
    scheduling twice never doubles it."""

    class Status(models.TextChoices):
        DUE = "due", _("待复查")
        DONE = "done", _("已复查")
        CANCELLED = "cancelled", _("已取消")

    notice = models.ForeignKey(Notice, verbose_name=_("整改通知书"), on_delete=models.CASCADE,
                               related_name="reinspections")
    round = models.PositiveSmallIntegerField(_("轮次"), default=1)
    due_at = models.DateTimeField(_("复查时间"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DUE)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("复查人"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(_("复查说明"), blank=True)
    #: When the team and the department were told it is due (the worker's reminder; once).
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("复查")
        verbose_name_plural = _("复查")
        ordering = ["due_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["notice", "round"], name="inspections_reinspection_once")]
        indexes = [models.Index(fields=["status", "due_at"], name="inspections_reinsp_due")]

    def __str__(self) -> str:
        return f"{self.notice} · {self.round}"


class Plan(models.Model):
    """A team's recurring inspection day (e.g. every Wednesday) and the rules that choose its targets."""

    class Weekday(models.IntegerChoices):
        MONDAY = 1, _("星期一")
        TUESDAY = 2, _("星期二")
        WEDNESDAY = 3, _("星期三")
        THURSDAY = 4, _("星期四")
        FRIDAY = 5, _("星期五")
        SATURDAY = 6, _("星期六")
        SUNDAY = 7, _("星期日")

    team = models.ForeignKey(Team, verbose_name=_("检查小组"), on_delete=models.CASCADE, related_name="plans")
    name = models.CharField(_("名称"), max_length=100)
    weekday = models.PositiveSmallIntegerField(_("检查日"), choices=Weekday.choices, default=Weekday.WEDNESDAY)
    checklist = models.ForeignKey("checklists.Checklist", verbose_name=_("检查表"), on_delete=models.PROTECT,
                                  related_name="plans")
    premises_types = models.ManyToManyField("premises.PremisesType", verbose_name=_("场所类型"), blank=True,
                                            help_text=_("留空为全部类型"))
    min_risk_level = models.CharField(_("最低风险等级"), max_length=10, blank=True,
                                      help_text=_("留空为全部等级"))
    revisit_days = models.PositiveSmallIntegerField(_("距上次检查天数"), default=90,
                                                    help_text=_("超过此天数未检查的场所列入计划"))
    include_open_hazards = models.BooleanField(_("含有未整改隐患的场所"), default=True)
    max_targets = models.PositiveSmallIntegerField(_("每次最多场所数"), default=20)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("检查计划")
        verbose_name_plural = _("检查计划")
        ordering = ["team", "weekday", "name"]

    def __str__(self) -> str:
        return f"{self.team} · {self.name}"


class PlanDay(models.Model):
    """One inspection day of a plan with its target list, built once (rebuilding replaces the
    targets not yet visited)."""

    plan = models.ForeignKey(Plan, verbose_name=_("检查计划"), on_delete=models.CASCADE, related_name="days")
    date = models.DateField(_("检查日期"))
    built_at = models.DateTimeField(_("生成时间"), default=timezone.now)

    class Meta:
        verbose_name = _("计划检查日")
        verbose_name_plural = _("计划检查日")
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["plan", "date"], name="inspections_planday_once")]

    def __str__(self) -> str:
        return f"{self.plan} · {self.date}"


class PlanTarget(models.Model):
    class Reason(models.TextChoices):
        REINSPECTION = "reinspection", _("到期复查")
        OPEN_HAZARDS = "open_hazards", _("有未整改隐患")
        NEVER = "never", _("从未检查")
        DUE = "due", _("久未检查")

    day = models.ForeignKey(PlanDay, verbose_name=_("计划检查日"), on_delete=models.CASCADE, related_name="targets")
    premises = models.ForeignKey("premises.Premises", verbose_name=_("场所"), on_delete=models.CASCADE,
                                 related_name="plan_targets")
    rank = models.PositiveIntegerField(_("顺序"), default=0)
    reason = models.CharField(_("列入原因"), max_length=20, choices=Reason.choices)
    visit = models.ForeignKey(Visit, verbose_name=_("检查记录"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="plan_targets")

    class Meta:
        verbose_name = _("计划场所")
        verbose_name_plural = _("计划场所")
        ordering = ["day", "rank", "pk"]
        constraints = [models.UniqueConstraint(fields=["day", "premises"], name="inspections_plantarget_once")]

    def __str__(self) -> str:
        return f"{self.day} · {self.premises_id}"


class Meeting(models.Model):
    """联席会议: a station's joint meeting. The agenda is built from escalated hazards; decisions become
    cases dispatched to the responsible department (the closed loop's task)."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("待召开")
        HELD = "held", _("已召开")

    station = models.ForeignKey(Station, verbose_name=_("工作站"), on_delete=models.PROTECT, related_name="meetings")
    title = models.CharField(_("会议名称"), max_length=200)
    scheduled_at = models.DateTimeField(_("会议时间"))
    place = models.CharField(_("地点"), max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    attendees = models.TextField(_("参会人员"), blank=True)
    minutes = models.TextField(_("会议纪要"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("联席会议")
        verbose_name_plural = _("联席会议")
        ordering = ["-scheduled_at"]

    def __str__(self) -> str:
        return self.title


class MeetingItem(models.Model):
    """An agenda item: an escalated hazard, or a topic without one."""

    meeting = models.ForeignKey(Meeting, verbose_name=_("联席会议"), on_delete=models.CASCADE, related_name="items")
    hazard = models.ForeignKey(Hazard, verbose_name=_("隐患"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="meeting_items")
    title = models.CharField(_("议题"), max_length=300)
    sort = models.PositiveIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("议题")
        verbose_name_plural = _("议题")
        ordering = ["meeting", "sort", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "hazard"], name="inspections_meeting_hazard_once",
                                    condition=models.Q(hazard__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.title


class MeetingDecision(models.Model):
    """A decision of a joint meeting: a task for one department, carried out as a case."""

    meeting = models.ForeignKey(Meeting, verbose_name=_("联席会议"), on_delete=models.CASCADE,
                                related_name="decisions")
    item = models.ForeignKey(MeetingItem, verbose_name=_("议题"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="decisions")
    text = models.TextField(_("决定事项"))
    department = models.ForeignKey("orgs.Department", verbose_name=_("责任部门"), on_delete=models.PROTECT,
                                   related_name="meeting_decisions")
    case = models.OneToOneField("cases.Case", verbose_name=_("任务（案件）"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="meeting_decision")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("会议决定")
        verbose_name_plural = _("会议决定")
        ordering = ["meeting", "pk"]

    def __str__(self) -> str:
        return self.text[:50]


class VisitFinding(models.Model):
    """Something seen during a visit outside the premises' scope (an abandoned car outside): it becomes
    a case in the closed loop."""

    visit = models.ForeignKey(Visit, verbose_name=_("检查记录"), on_delete=models.CASCADE, related_name="findings")
    case = models.OneToOneField("cases.Case", verbose_name=_("案件"), on_delete=models.PROTECT,
                                related_name="inspection_finding")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("检查中发现的其他问题")
        verbose_name_plural = _("检查中发现的其他问题")

    def __str__(self) -> str:
        return f"{self.visit_id} → {self.case_id}"

"""人员台账: residents and households, key persons, community corrections, people in need and relief,
legal service and mediation, visits — and the privacy machinery around them (docs/registries.md).

Sensitive values (identity numbers, phones, addresses, health and criminal details, notes) are
``SealedField``s: encrypted at rest, masked whenever shown, revealed only through ``access.py``.
Names are kept in clear (the grid worker's work needs them) but a person is only visible inside
the jurisdiction and registry the viewer has a right to (``rules.py``, ``queries.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .crypto import ADDRESS, ID, PHONE, TEXT, SealedField

USER = settings.AUTH_USER_MODEL


class Registry(models.TextChoices):
    """The registries: each has its own audience (rules.py) and retention (RetentionRule)."""

    RESIDENTS = "residents", _("实有人口")
    KEY_PERSONS = "key_persons", _("重点人员")
    CORRECTIONS = "corrections", _("社区矫正")
    ASSISTANCE = "assistance", _("困难帮扶")
    LEGAL = "legal", _("法律服务与调解")
    VISITS = "visits", _("走访日志")


# ------------------------------------------------------------------------------ residents


class Household(models.Model):
    """A household (户) at an address in an area (building or grid)."""

    area = models.ForeignKey("areas.Area", verbose_name=_("所在区域"), on_delete=models.PROTECT,
                             related_name="households")
    number = models.CharField(_("户号"), max_length=32, blank=True)
    address = SealedField(_("详细地址"), mask_kind=ADDRESS)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    closed_at = models.DateTimeField(_("注销时间"), null=True, blank=True)
    anonymised_at = models.DateTimeField(_("匿名化时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        ordering = ["area", "number", "pk"]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"


class Person(models.Model):
    """A person living or staying in the city (实有人口)."""

    class Residence(models.TextChoices):
        REGISTERED = "registered", _("户籍人口")
        RESIDENT = "resident", _("常住人口")
        FLOATING = "floating", _("流动人口")

    class Gender(models.TextChoices):
        MALE = "m", _("男")
        FEMALE = "f", _("女")
        UNKNOWN = "", _("未填")

    name = models.CharField(_("姓名"), max_length=64)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("出生年份"), null=True, blank=True)
    id_number = SealedField(_("身份证号"), mask_kind=ID, index_to="id_number_index")
    id_number_index = models.CharField(_("身份证号索引"), max_length=40, blank=True, db_index=True, editable=False)
    phone = SealedField(_("联系电话"), mask_kind=PHONE)
    address = SealedField(_("详细地址"), mask_kind=ADDRESS)
    area = models.ForeignKey("areas.Area", verbose_name=_("所在区域"), on_delete=models.PROTECT,
                             related_name="registry_people")
    household = models.ForeignKey(Household, verbose_name=_("户"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="members")
    relation = models.CharField(_("与户主关系"), max_length=16, blank=True)
    residence = models.CharField(_("人口类型"), max_length=16, choices=Residence.choices,
                                 default=Residence.REGISTERED)
    account = models.ForeignKey(USER, verbose_name=_("账号"), null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="registry_people")
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    created_by = models.ForeignKey(USER, verbose_name=_("登记人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(_("注销时间"), null=True, blank=True)  # moved away, died: retention starts
    anonymised_at = models.DateTimeField(_("匿名化时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        ordering = ["area", "name", "pk"]
        constraints = [
            # one open record per identity number (two clerks registering the same person at once)
            models.UniqueConstraint(fields=["id_number_index"], name="person_one_open_per_id_number",
                                    condition=models.Q(closed_at__isnull=True, anonymised_at__isnull=True)
                                    & ~models.Q(id_number_index="")),
        ]
        permissions = [
            ("reveal_sensitive", _("可说明用途后查看完整敏感信息")),
            ("export_sensitive", _("可申请导出敏感信息")),
            ("approve_export", _("可审批敏感信息导出")),
        ]

    def __str__(self) -> str:
        return self.name


class FloatingRegistration(models.Model):
    """流动人口登记: a stay at an address, from moving in to moving out."""

    person = models.ForeignKey(Person, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="stays")
    area = models.ForeignKey("areas.Area", verbose_name=_("居住区域"), on_delete=models.PROTECT,
                             related_name="floating_stays")
    address = SealedField(_("居住地址"), mask_kind=ADDRESS)
    reason = models.CharField(_("来此事由"), max_length=32, blank=True)  # 务工 经商 就学 …
    housing = models.CharField(_("居住方式"), max_length=32, blank=True)  # 租赁 单位宿舍 …
    moved_in_on = models.DateField(_("迁入日期"))
    moved_out_on = models.DateField(_("迁出日期"), null=True, blank=True)
    registered_by = models.ForeignKey(USER, verbose_name=_("登记人"), null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("流动人口登记")
        verbose_name_plural = _("流动人口登记")
        ordering = ["-moved_in_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(moved_out_on__isnull=True)
                                   | models.Q(moved_out_on__gte=models.F("moved_in_on")),
                                   name="floating_out_after_in"),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.moved_in_on}"


# ------------------------------------------------------------------------------ key persons


class KeyCategory(models.Model):
    """A category of key person (data, not code): 刑满释放人员, 严重精神障碍患者, 社区戒毒康复人员 …"""

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=32)
    name_en = models.CharField(_("英文名称"), max_length=64, blank=True)
    visit_every_days = models.PositiveSmallIntegerField(_("走访周期（天）"), default=30)
    is_health = models.BooleanField(_("涉及健康信息"), default=False)
    is_criminal = models.BooleanField(_("涉及犯罪记录"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("重点人员类别")
        verbose_name_plural = _("重点人员类别")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class KeyPerson(models.Model):
    """A person on the key-person list, with a responsible grid worker and a visit rhythm."""

    class Level(models.TextChoices):
        NORMAL = "normal", _("一般关注")
        CLOSE = "close", _("重点关注")
        CONTROL = "control", _("严密管控")

    person = models.ForeignKey(Person, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="key_entries")
    category = models.ForeignKey(KeyCategory, verbose_name=_("类别"), on_delete=models.PROTECT,
                                 related_name="entries")
    level = models.CharField(_("关注程度"), max_length=16, choices=Level.choices, default=Level.NORMAL)
    responsible = models.ForeignKey(USER, verbose_name=_("责任网格员"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="key_persons")
    visit_every_days = models.PositiveSmallIntegerField(_("走访周期（天）"), null=True, blank=True,
                                                        help_text=_("留空按类别的周期"))
    details = SealedField(_("具体情况"), mask_kind=TEXT)  # diagnosis, offence, treatment …
    listed_on = models.DateField(_("列管日期"), default=timezone.localdate)
    last_visit_on = models.DateField(_("最近走访"), null=True, blank=True)
    next_visit_due = models.DateField(_("下次走访截止"), null=True, blank=True, db_index=True)
    alerted_for = models.DateField(_("已提醒的截止日"), null=True, blank=True)  # once per due date
    ended_on = models.DateField(_("解除列管日期"), null=True, blank=True)
    end_reason = models.CharField(_("解除原因"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("重点人员")
        verbose_name_plural = _("重点人员")
        ordering = ["next_visit_due", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["person", "category"], condition=models.Q(ended_on__isnull=True),
                                    name="keyperson_one_open_entry"),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.category}"


# ------------------------------------------------------------------------------ community corrections


class PlacementBase(models.Model):
    """A base for community corrections: 公益活动基地, 警示教育基地, 过渡性安置基地."""

    class Kind(models.TextChoices):
        SERVICE = "service", _("公益活动基地")
        EDUCATION = "education", _("警示教育基地")
        PLACEMENT = "placement", _("过渡性安置基地")

    area = models.ForeignKey("areas.Area", verbose_name=_("所在区域"), on_delete=models.PROTECT,
                             related_name="placement_bases")
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    address = models.CharField(_("地址"), max_length=200, blank=True)  # an organisation's, not a person's
    contact = models.CharField(_("联系人"), max_length=64, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("矫正基地")
        verbose_name_plural = _("矫正基地")
        ordering = ["area", "kind", "name"]

    def __str__(self) -> str:
        return self.name


class Correction(models.Model):
    """A person under community correction (社区矫正对象), from the entry announcement to release."""

    class Kind(models.TextChoices):
        CONTROL = "control", _("管制")
        PROBATION = "probation", _("缓刑")
        PAROLE = "parole", _("假释")
        MEDICAL_PAROLE = "medical", _("暂予监外执行")

    class Status(models.TextChoices):
        ASSESSMENT = "assessment", _("调查评估")
        ACTIVE = "active", _("在矫")
        RELEASED = "released", _("解除矫正")
        REVOKED = "revoked", _("收监执行")

    person = models.ForeignKey(Person, verbose_name=_("人员"), on_delete=models.CASCADE,
                               related_name="corrections")
    department = models.ForeignKey("orgs.Department", verbose_name=_("司法所"), on_delete=models.PROTECT,
                                   related_name="corrections")
    kind = models.CharField(_("矫正类别"), max_length=16, choices=Kind.choices)
    offence = SealedField(_("罪名与刑期"), mask_kind=TEXT)
    term_start = models.DateField(_("矫正起始日"))
    term_end = models.DateField(_("矫正期满日"))
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.ASSESSMENT,
                              db_index=True)
    announced_on = models.DateField(_("入矫宣告日"), null=True, blank=True)
    announcement = SealedField(_("宣告记录"), mask_kind=TEXT)
    report_every_days = models.PositiveSmallIntegerField(_("报到周期（天）"), default=7)
    next_report_due = models.DateField(_("下次报到截止"), null=True, blank=True, db_index=True)
    alerted_for = models.DateField(_("已提醒的截止日"), null=True, blank=True)
    service_hours_monthly = models.DecimalField(_("每月公益活动时长"), max_digits=5, decimal_places=1, default=8)
    closed_on = models.DateField(_("结束日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)

    class Meta:
        verbose_name = _("社区矫正对象")
        verbose_name_plural = _("社区矫正对象")
        ordering = ["status", "term_end", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(term_end__gte=models.F("term_start")),
                                   name="correction_term_order"),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_kind_display()}"


class TeamMember(models.Model):
    """One of the five (五个一): family member, volunteer, community worker, police officer, judicial officer."""

    class Role(models.TextChoices):
        FAMILY = "family", _("家庭成员")
        VOLUNTEER = "volunteer", _("社会志愿者")
        COMMUNITY = "community", _("社区工作者")
        POLICE = "police", _("派出所民警")
        JUDICIAL = "judicial", _("司法所工作人员")

    correction = models.ForeignKey(Correction, verbose_name=_("矫正对象"), on_delete=models.CASCADE,
                                   related_name="team")
    role = models.CharField(_("小组角色"), max_length=16, choices=Role.choices)
    name = models.CharField(_("姓名"), max_length=64)
    user = models.ForeignKey(USER, verbose_name=_("账号"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="correction_teams")
    phone = SealedField(_("联系电话"), mask_kind=PHONE)

    class Meta:
        verbose_name = _("矫正小组成员")
        verbose_name_plural = _("矫正小组成员")
        ordering = ["correction", "role"]
        constraints = [models.UniqueConstraint(fields=["correction", "role"], name="correction_team_one_per_role")]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.name}"


class CorrectionReport(models.Model):
    """A duty met: 报到, 思想汇报, 电话报告, 外出请假 …"""

    class Kind(models.TextChoices):
        CHECK_IN = "check_in", _("当面报到")
        PHONE = "phone", _("电话报告")
        WRITTEN = "written", _("书面思想汇报")
        LEAVE = "leave", _("外出请假")

    correction = models.ForeignKey(Correction, verbose_name=_("矫正对象"), on_delete=models.CASCADE,
                                   related_name="reports")
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    on = models.DateField(_("日期"))
    note = SealedField(_("内容"), mask_kind=TEXT)
    recorded_by = models.ForeignKey(USER, verbose_name=_("记录人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("报到与汇报")
        verbose_name_plural = _("报到与汇报")
        ordering = ["-on", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on}"


class RiskAssessment(models.Model):
    """A periodic risk assessment: factor scores (JSON), total, level, the assessor's note."""

    class Level(models.TextChoices):
        LOW = "low", _("低风险")
        MEDIUM = "medium", _("中风险")
        HIGH = "high", _("高风险")

    correction = models.ForeignKey(Correction, verbose_name=_("矫正对象"), on_delete=models.CASCADE,
                                   related_name="assessments")
    assessed_on = models.DateField(_("评估日期"))
    scores = models.JSONField(_("分项得分"), default=dict)
    total = models.PositiveSmallIntegerField(_("总分"))
    level = models.CharField(_("风险等级"), max_length=8, choices=Level.choices)
    note = SealedField(_("评估意见"), mask_kind=TEXT)
    assessed_by = models.ForeignKey(USER, verbose_name=_("评估人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("风险评估")
        verbose_name_plural = _("风险评估")
        ordering = ["-assessed_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.assessed_on} {self.get_level_display()}"


class ServiceHours(models.Model):
    """Hours of public service (公益活动) done at a base."""

    correction = models.ForeignKey(Correction, verbose_name=_("矫正对象"), on_delete=models.CASCADE,
                                   related_name="service_hours")
    base = models.ForeignKey(PlacementBase, verbose_name=_("基地"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="service_hours")
    on = models.DateField(_("日期"))
    hours = models.DecimalField(_("时长（小时）"), max_digits=4, decimal_places=1)
    activity = models.CharField(_("活动内容"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(USER, verbose_name=_("记录人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("公益活动记录")
        verbose_name_plural = _("公益活动记录")
        ordering = ["-on", "-pk"]
        constraints = [models.CheckConstraint(condition=models.Q(hours__gt=0) & models.Q(hours__lte=24),
                                              name="service_hours_range")]

    def __str__(self) -> str:
        return f"{self.on} {self.hours}h"


# ------------------------------------------------------------------------------ people in need


class DifficultyKind(models.Model):
    """A kind of difficulty (data): 低保, 特困, 残疾, 大病, 失业, 独居老人, 留守儿童 …"""

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=32)
    name_en = models.CharField(_("英文名称"), max_length=64, blank=True)
    is_health = models.BooleanField(_("涉及健康信息"), default=False)

    class Meta:
        verbose_name = _("困难类型")
        verbose_name_plural = _("困难类型")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class NeedCase(models.Model):
    """A household in difficulty (帮扶对象) with its one-to-one helper (结对帮扶)."""

    class Level(models.TextChoices):
        GENERAL = "general", _("一般困难")
        SERIOUS = "serious", _("较大困难")
        SEVERE = "severe", _("特别困难")

    household = models.ForeignKey(Household, verbose_name=_("户"), on_delete=models.CASCADE,
                                  related_name="need_cases")
    kinds = models.ManyToManyField(DifficultyKind, verbose_name=_("困难类型"), related_name="cases")
    level = models.CharField(_("困难程度"), max_length=16, choices=Level.choices, default=Level.GENERAL)
    details = SealedField(_("困难情况"), mask_kind=TEXT)
    helper = models.ForeignKey(USER, verbose_name=_("结对帮扶人"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="need_cases")
    opened_on = models.DateField(_("建档日期"), default=timezone.localdate)
    closed_on = models.DateField(_("脱困日期"), null=True, blank=True)
    close_reason = models.CharField(_("结案原因"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("困难帮扶对象")
        verbose_name_plural = _("困难帮扶对象")
        ordering = ["-opened_on", "-pk"]
        constraints = [models.UniqueConstraint(fields=["household"], condition=models.Q(closed_on__isnull=True),
                                               name="needcase_one_open_per_household")]

    def __str__(self) -> str:
        return f"{self.household} · {self.get_level_display()}"


class AssistancePlan(models.Model):
    """A one-to-one assistance plan (帮扶计划): measures, who, review date."""

    case = models.ForeignKey(NeedCase, verbose_name=_("帮扶对象"), on_delete=models.CASCADE, related_name="plans")
    measures = models.TextField(_("帮扶措施"))
    responsible = models.ForeignKey(USER, verbose_name=_("负责人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    starts_on = models.DateField(_("开始日期"), default=timezone.localdate)
    review_on = models.DateField(_("复核日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("制定时间"), default=timezone.now)

    class Meta:
        verbose_name = _("帮扶计划")
        verbose_name_plural = _("帮扶计划")
        ordering = ["-starts_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.case} · {self.starts_on}"


class HelpRecord(models.Model):
    """Help given (帮扶记录): goods, money, a job, a doctor's visit …"""

    class Kind(models.TextChoices):
        GOODS = "goods", _("物资")
        MONEY = "money", _("资金")
        JOB = "job", _("就业")
        MEDICAL = "medical", _("医疗")
        CARE = "care", _("照料探望")
        POLICY = "policy", _("政策落实")
        OTHER = "other", _("其他")

    case = models.ForeignKey(NeedCase, verbose_name=_("帮扶对象"), on_delete=models.CASCADE, related_name="help")
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    on = models.DateField(_("日期"))
    description = models.CharField(_("内容"), max_length=200)
    amount = models.DecimalField(_("金额（元）"), max_digits=10, decimal_places=2, null=True, blank=True)
    given_by = models.ForeignKey(USER, verbose_name=_("帮扶人"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("帮扶记录")
        verbose_name_plural = _("帮扶记录")
        ordering = ["-on", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on}"


class ReliefBatch(models.Model):
    """A relief distribution (救助物资发放): a batch of goods for listed households."""

    area = models.ForeignKey("areas.Area", verbose_name=_("发放区域"), on_delete=models.PROTECT,
                             related_name="relief_batches")
    name = models.CharField(_("名称"), max_length=100)
    goods = models.CharField(_("物资"), max_length=200)
    per_household = models.PositiveIntegerField(_("每户数量"), default=1)
    opened_on = models.DateField(_("发放开始"), default=timezone.localdate)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("创建人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("救助物资批次")
        verbose_name_plural = _("救助物资批次")
        ordering = ["-opened_on", "-pk"]

    def __str__(self) -> str:
        return self.name


class ReliefRecipient(models.Model):
    """A household listed for a batch; issued at most once (the unique pair and a conditional
    UPDATE on ``issued_at IS NULL``), with the receipt (who signed)."""

    batch = models.ForeignKey(ReliefBatch, verbose_name=_("批次"), on_delete=models.CASCADE,
                              related_name="recipients")
    household = models.ForeignKey(Household, verbose_name=_("户"), on_delete=models.PROTECT,
                                  related_name="relief")
    quantity = models.PositiveIntegerField(_("数量"), default=1)
    issued_at = models.DateTimeField(_("发放时间"), null=True, blank=True)
    issued_by = models.ForeignKey(USER, verbose_name=_("发放人"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    signed_by = models.CharField(_("签收人"), max_length=64, blank=True)
    signature = models.ImageField(_("签名"), upload_to="registries/receipts/%Y/%m/", blank=True)

    class Meta:
        verbose_name = _("救助发放名单")
        verbose_name_plural = _("救助发放名单")
        ordering = ["batch", "pk"]
        constraints = [models.UniqueConstraint(fields=["batch", "household"], name="relief_once_per_household")]

    def __str__(self) -> str:
        return f"{self.batch} · {self.household}"


# ------------------------------------------------------------------------------ legal service


class LegalAdviser(models.Model):
    """A community's legal adviser (一村（社区）一法律顾问): a professional, contact details public."""

    area = models.ForeignKey("areas.Area", verbose_name=_("服务社区"), on_delete=models.PROTECT,
                             related_name="legal_advisers")
    name = models.CharField(_("姓名"), max_length=64)
    firm = models.CharField(_("执业机构"), max_length=100, blank=True)
    phone = models.CharField(_("工作电话"), max_length=32, blank=True)
    office_hours = models.CharField(_("坐班时间"), max_length=100, blank=True)
    user = models.ForeignKey(USER, verbose_name=_("账号"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="legal_adviser_posts")
    started_on = models.DateField(_("聘任日期"), default=timezone.localdate)
    ended_on = models.DateField(_("解聘日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("法律顾问")
        verbose_name_plural = _("法律顾问")
        ordering = ["area", "-started_on"]

    def __str__(self) -> str:
        return self.name


class Consultation(models.Model):
    """A legal consultation (法律咨询)."""

    area = models.ForeignKey("areas.Area", verbose_name=_("社区"), on_delete=models.PROTECT,
                             related_name="legal_consultations")
    adviser = models.ForeignKey(LegalAdviser, verbose_name=_("法律顾问"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="consultations")
    person = models.ForeignKey(Person, verbose_name=_("咨询人"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="consultations")
    requester = SealedField(_("咨询人姓名"), mask_kind="name")
    topic = models.CharField(_("事项类别"), max_length=32)  # 婚姻家庭 劳动 合同 物业 …
    question = SealedField(_("咨询内容"), mask_kind=TEXT)
    advice = SealedField(_("解答意见"), mask_kind=TEXT)
    on = models.DateField(_("日期"), default=timezone.localdate)
    recorded_by = models.ForeignKey(USER, verbose_name=_("记录人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("法律咨询")
        verbose_name_plural = _("法律咨询")
        ordering = ["-on", "-pk"]

    def __str__(self) -> str:
        return f"{self.topic} {self.on}"


class Mediation(models.Model):
    """A dispute mediation case (矛盾纠纷调解)."""

    class Kind(models.TextChoices):
        FAMILY = "family", _("婚姻家庭")
        NEIGHBOUR = "neighbour", _("邻里纠纷")
        PROPERTY = "property", _("物业纠纷")
        LABOUR = "labour", _("劳动争议")
        CONTRACT = "contract", _("合同纠纷")
        DAMAGE = "damage", _("损害赔偿")
        OTHER = "other", _("其他")

    class Status(models.TextChoices):
        RECEIVED = "received", _("受理")
        MEDIATING = "mediating", _("调解中")
        AGREED = "agreed", _("达成协议")
        FAILED = "failed", _("调解不成")
        WITHDRAWN = "withdrawn", _("撤回/终止")

    area = models.ForeignKey("areas.Area", verbose_name=_("社区"), on_delete=models.PROTECT,
                             related_name="mediations")
    number = models.CharField(_("编号"), max_length=32, unique=True)
    kind = models.CharField(_("纠纷类型"), max_length=16, choices=Kind.choices)
    summary = SealedField(_("纠纷概况"), mask_kind=TEXT)
    mediator = models.ForeignKey(USER, verbose_name=_("调解员"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="mediations")
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.RECEIVED,
                              db_index=True)
    received_on = models.DateField(_("受理日期"), default=timezone.localdate)
    agreement = SealedField(_("调解协议"), mask_kind=TEXT)
    outcome = SealedField(_("结果"), mask_kind=TEXT)  # names the parties and their dispute, like the agreement
    closed_on = models.DateField(_("结案日期"), null=True, blank=True)
    case = models.ForeignKey("cases.Case", verbose_name=_("来源案件"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="mediations")

    class Meta:
        verbose_name = _("调解案件")
        verbose_name_plural = _("调解案件")
        ordering = ["-received_on", "-pk"]

    def __str__(self) -> str:
        return self.number


class MediationParty(models.Model):
    class Side(models.TextChoices):
        APPLICANT = "applicant", _("申请人")
        RESPONDENT = "respondent", _("被申请人")
        OTHER = "other", _("第三人")

    mediation = models.ForeignKey(Mediation, verbose_name=_("调解案件"), on_delete=models.CASCADE,
                                  related_name="parties")
    side = models.CharField(_("当事人身份"), max_length=16, choices=Side.choices)
    person = models.ForeignKey(Person, verbose_name=_("人员"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="mediation_parties")
    name = SealedField(_("姓名"), mask_kind="name")
    phone = SealedField(_("联系电话"), mask_kind=PHONE)

    class Meta:
        verbose_name = _("当事人")
        verbose_name_plural = _("当事人")
        ordering = ["mediation", "side", "pk"]

    def __str__(self) -> str:
        return f"{self.get_side_display()} {self.name}"


class MediationSession(models.Model):
    mediation = models.ForeignKey(Mediation, verbose_name=_("调解案件"), on_delete=models.CASCADE,
                                  related_name="sessions")
    on = models.DateField(_("日期"))
    place = models.CharField(_("地点"), max_length=100, blank=True)
    note = SealedField(_("调解记录"), mask_kind=TEXT)
    recorded_by = models.ForeignKey(USER, verbose_name=_("记录人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("调解记录")
        verbose_name_plural = _("调解记录")
        ordering = ["mediation", "on", "pk"]

    def __str__(self) -> str:
        return f"{self.mediation} · {self.on}"


# ------------------------------------------------------------------------------ visits


class Visit(models.Model):
    """A grid worker's visit (走访, 民情日志): to a household or a person, notes, a case if a problem was found."""

    class Purpose(models.TextChoices):
        ROUTINE = "routine", _("日常走访")
        KEY_PERSON = "key_person", _("重点人员走访")
        NEED = "need", _("困难帮扶走访")
        CORRECTION = "correction", _("矫正走访")
        SURVEY = "survey", _("人口核查")

    visitor = models.ForeignKey(USER, verbose_name=_("走访人"), on_delete=models.PROTECT,
                                related_name="registry_visits")
    area = models.ForeignKey("areas.Area", verbose_name=_("区域"), on_delete=models.PROTECT,
                             related_name="registry_visits")
    household = models.ForeignKey(Household, verbose_name=_("户"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="visits")
    person = models.ForeignKey(Person, verbose_name=_("人员"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="visits")
    key_person = models.ForeignKey(KeyPerson, verbose_name=_("重点人员"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="visits")
    purpose = models.CharField(_("走访类型"), max_length=16, choices=Purpose.choices, default=Purpose.ROUTINE)
    at = models.DateTimeField(_("走访时间"), default=timezone.now)
    notes = SealedField(_("民情记录"), mask_kind=TEXT)
    case = models.ForeignKey("cases.Case", verbose_name=_("转办案件"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="registry_visits")

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.at:%Y-%m-%d}"


# The privacy tables (access log, export requests, retention rules) live in privacy_models.py.
from .privacy_models import AccessLog, ExportRequest, RetentionRule  # noqa: E402,F401

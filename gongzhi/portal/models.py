"""社区门户: what a community shows its residents — notices, service schedules, the 公开栏 (rules, fees,
finances, every version kept), the 15-minute services map — and who is a resident of which area
(docs/portal.md).

An area here is any node of the area tree: a community, an estate (小区/片区), a building. A resident
of an area is a user with a *verified* ``Residency`` at or below it; ``queries.py`` is the read door.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.core.models import AppendOnlyMixin

USER = settings.AUTH_USER_MODEL


class Residency(models.Model):
    """A user living in an area (usually a building). Asked for by the resident, verified by staff
    whose jurisdiction covers the area (grid worker, building head …); only a verified residency
    opens the area's notices, schedules and 公开栏."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待核实")
        VERIFIED = "verified", _("已核实")
        REFUSED = "refused", _("未通过")
        ENDED = "ended", _("已迁出")

    class Source(models.TextChoices):
        RESIDENT = "resident", _("住户申请")
        REGISTRY = "registry", _("社区登记")

    user = models.ForeignKey(USER, verbose_name=_("住户"), on_delete=models.CASCADE, related_name="residencies")
    area = models.ForeignKey("areas.Area", verbose_name=_("住址（楼栋）"), on_delete=models.PROTECT,
                             related_name="residencies")
    unit = models.CharField(_("房号"), max_length=32, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    decided_by = models.ForeignKey(USER, verbose_name=_("核实人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(_("核实时间"), null=True, blank=True)
    ended_at = models.DateTimeField(_("迁出时间"), null=True, blank=True)
    # registry: confirmed from the community's 实有人口 when a registry writer linked the account to a
    # person there (residency.verify_from_registry); it follows that entry. Nothing else of it is kept.
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices, default=Source.RESIDENT)

    class Meta:
        verbose_name = _("住户登记")
        verbose_name_plural = _("住户登记")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "area"], condition=models.Q(status__in=["pending", "verified"]),
                                    name="residency_one_live_per_area"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.area}"


# ------------------------------------------------------------------------------ notices


class Notice(models.Model):
    """A notice on an area's board (community, estate or building), valid for a period."""

    area = models.ForeignKey("areas.Area", verbose_name=_("发布范围"), on_delete=models.PROTECT,
                             related_name="notices")
    title = models.CharField(_("标题"), max_length=120)
    body = models.TextField(_("正文"))
    valid_from = models.DateField(_("生效日期"), default=timezone.localdate)
    valid_until = models.DateField(_("失效日期"), null=True, blank=True)
    pinned = models.BooleanField(_("置顶"), default=False)
    is_public = models.BooleanField(_("对外公开"), default=False, help_text=_("不登录也能看到"))
    needs_relay = models.BooleanField(_("需楼栋长逐户传达"), default=False)
    published_by = models.ForeignKey(USER, verbose_name=_("发布人"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(_("发布时间"), default=timezone.now, db_index=True)
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(USER, verbose_name=_("撤回人"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("通知公告")
        verbose_name_plural = _("通知公告")
        ordering = ["-pinned", "-published_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(valid_until__isnull=True)
                                   | models.Q(valid_until__gte=models.F("valid_from")), name="notice_valid_order"),
        ]

    def __str__(self) -> str:
        return self.title


class NoticeAttachment(models.Model):
    notice = models.ForeignKey(Notice, verbose_name=_("通知"), on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("文件"), upload_to="portal/notices/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小"), default=0)
    content_type = models.CharField(_("类型"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("通知附件")
        verbose_name_plural = _("通知附件")
        ordering = ["notice", "pk"]

    def __str__(self) -> str:
        return self.name


class NoticeReceipt(models.Model):
    """A reader of a notice: read at, and — for building heads of a notice that needs relaying —
    when they had passed it on door to door."""

    notice = models.ForeignKey(Notice, verbose_name=_("通知"), on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(USER, verbose_name=_("读者"), on_delete=models.CASCADE, related_name="notice_receipts")
    read_at = models.DateTimeField(_("已读时间"), default=timezone.now)
    relayed_at = models.DateTimeField(_("已传达时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("阅读回执")
        verbose_name_plural = _("阅读回执")
        ordering = ["notice", "read_at"]
        constraints = [models.UniqueConstraint(fields=["notice", "user"], name="notice_receipt_once")]

    def __str__(self) -> str:
        return f"{self.notice} · {self.user}"


# ------------------------------------------------------------------------------ service schedules


class ServiceSchedule(models.Model):
    """A recurring service of an area: garbage collection times, clinic hours, the legal adviser's
    office hours, inspection day … Which days it runs: ``weekdays`` under ``calendar_rule``; single
    days changed or cancelled: ``ScheduleException``."""

    class Kind(models.TextChoices):
        GARBAGE = "garbage", _("垃圾清运")
        CLINIC = "clinic", _("卫生服务")
        LEGAL = "legal", _("法律顾问坐班")
        INSPECTION = "inspection", _("检查日")
        OFFICE = "office", _("办事窗口")
        OTHER = "other", _("其他")

    class CalendarRule(models.TextChoices):
        EVERY_DAY = "every_day", _("按星期，节假日照常")
        WORKDAYS = "workdays", _("仅工作日（含调休上班日）")
        NOT_ON_HOLIDAYS = "not_on_holidays", _("按星期，法定节假日暂停")

    area = models.ForeignKey("areas.Area", verbose_name=_("服务范围"), on_delete=models.PROTECT,
                             related_name="service_schedules")
    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("名称"), max_length=100)
    weekdays = models.JSONField(_("星期"), default=list, blank=True,
                                help_text=_("0=周一 … 6=周日；留空为每天"))
    times = models.JSONField(_("时间"), default=list, help_text=_("如 07:30 或 09:00-12:00"))
    calendar_rule = models.CharField(_("节假日规则"), max_length=16, choices=CalendarRule.choices,
                                     default=CalendarRule.EVERY_DAY)
    place = models.CharField(_("地点"), max_length=100, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    is_public = models.BooleanField(_("对外公开"), default=True)
    valid_from = models.DateField(_("开始日期"), default=timezone.localdate)
    valid_until = models.DateField(_("结束日期"), null=True, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("创建人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("服务时间表")
        verbose_name_plural = _("服务时间表")
        ordering = ["area", "kind", "title"]

    def __str__(self) -> str:
        return self.title


class ScheduleException(models.Model):
    """One day that differs: cancelled, or other times (春节 garbage collection once, at 9:00)."""

    schedule = models.ForeignKey(ServiceSchedule, verbose_name=_("时间表"), on_delete=models.CASCADE,
                                 related_name="exceptions")
    date = models.DateField(_("日期"))
    cancelled = models.BooleanField(_("当天停止"), default=False)
    times = models.JSONField(_("当天时间"), default=list, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("时间表例外")
        verbose_name_plural = _("时间表例外")
        ordering = ["schedule", "date"]
        constraints = [models.UniqueConstraint(fields=["schedule", "date"], name="schedule_exception_once")]

    def __str__(self) -> str:
        return f"{self.schedule} · {self.date}"


# ------------------------------------------------------------------------------ 公开栏 transparency


class Disclosure(models.Model):
    """A 公开栏 item of an area (usually an estate): rules of procedure, fee standards, the owners'
    committee's income and spending for a period. Its content lives in versions: publishing a change
    adds a version, nothing is edited; the history stays visible."""

    class Kind(models.TextChoices):
        RULES = "rules", _("议事规则")
        FEES = "fees", _("收费标准")
        FINANCE = "finance", _("收支公示")
        OTHER = "other", _("其他公开事项")

    area = models.ForeignKey("areas.Area", verbose_name=_("公开范围"), on_delete=models.PROTECT,
                             related_name="disclosures")
    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("标题"), max_length=120)
    period_start = models.DateField(_("期间起"), null=True, blank=True)
    period_end = models.DateField(_("期间止"), null=True, blank=True)
    is_public = models.BooleanField(_("对外公开"), default=False)
    created_by = models.ForeignKey(USER, verbose_name=_("创建人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("公开事项")
        verbose_name_plural = _("公开事项")
        ordering = ["area", "kind", "-period_start", "-pk"]

    def __str__(self) -> str:
        return self.title


class DisclosureVersion(AppendOnlyMixin, models.Model):
    """One published version of a 公开栏 item (append-only; SHA-256 of its content)."""

    disclosure = models.ForeignKey(Disclosure, verbose_name=_("公开事项"), on_delete=models.PROTECT,
                                   related_name="versions")
    number = models.PositiveIntegerField(_("版本"))
    body = models.TextField(_("正文"), blank=True)
    lines = models.JSONField(_("收支明细"), default=list, blank=True)  # [{date, item, income, expense, note}]
    income_total = models.DecimalField(_("收入合计"), max_digits=14, decimal_places=2, default=0)
    expense_total = models.DecimalField(_("支出合计"), max_digits=14, decimal_places=2, default=0)
    change_note = models.CharField(_("变更说明"), max_length=200, blank=True)
    published_by = models.ForeignKey(USER, verbose_name=_("发布人"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(_("发布时间"), default=timezone.now)
    sha256 = models.CharField(_("内容摘要"), max_length=64)

    class Meta:
        verbose_name = _("公开版本")
        verbose_name_plural = _("公开版本")
        ordering = ["disclosure", "-number"]
        constraints = [models.UniqueConstraint(fields=["disclosure", "number"], name="disclosure_version_unique")]

    def __str__(self) -> str:
        return f"{self.disclosure} v{self.number}"


class DisclosureAttachment(AppendOnlyMixin, models.Model):
    """A receipt or document of one version (kept with it, like the version)."""

    version = models.ForeignKey(DisclosureVersion, verbose_name=_("版本"), on_delete=models.PROTECT,
                                related_name="attachments")
    file = models.FileField(_("文件"), upload_to="portal/disclosures/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    sha256 = models.CharField(_("文件摘要"), max_length=64)

    class Meta:
        verbose_name = _("公开附件")
        verbose_name_plural = _("公开附件")
        ordering = ["version", "pk"]

    def __str__(self) -> str:
        return self.name


# ------------------------------------------------------------------------------ services map


class ServicePointType(models.Model):
    """A kind of service point (data): 社区服务站, 卫生服务站, 法律服务, 喜邻商户, 日间照料, 充电桩 …"""

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=32)
    name_en = models.CharField(_("英文名称"), max_length=64, blank=True)
    color = models.CharField(_("颜色"), max_length=7, default="#1f6feb")
    sort = models.PositiveSmallIntegerField(_("排序"), default=100)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("服务点类型")
        verbose_name_plural = _("服务点类型")
        ordering = ["sort", "code"]

    def __str__(self) -> str:
        return self.name


class ServicePoint(models.Model):
    """A place that serves residents, with its position (WGS-84 like the area polygons)."""

    type = models.ForeignKey(ServicePointType, verbose_name=_("类型"), on_delete=models.PROTECT,
                             related_name="points")
    name = models.CharField(_("名称"), max_length=100)
    area = models.ForeignKey("areas.Area", verbose_name=_("所在区域"), on_delete=models.PROTECT,
                             related_name="service_points")
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    address = models.CharField(_("地址"), max_length=200, blank=True)
    phone = models.CharField(_("电话"), max_length=32, blank=True)
    hours = models.CharField(_("开放时间"), max_length=100, blank=True)
    description = models.CharField(_("简介"), max_length=200, blank=True)
    merchant = models.ForeignKey("points.Merchant", verbose_name=_("喜邻商户"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="service_points")
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("服务点")
        verbose_name_plural = _("服务点")
        ordering = ["type", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(lon__gte=-180, lon__lte=180, lat__gte=-90, lat__lte=90),
                                   name="service_point_on_earth"),
        ]

    def __str__(self) -> str:
        return self.name

"""Evaluation (考核评价): indicator schemes (weights and formula parameters as data), the monthly
fact tables the figures are read from, return visits (回访), and the app's settings.

The fact tables are derived data: ``services.recount_month`` rewrites them from the cases,
and a case, area, department or category deleted takes its fact rows with it.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.cases.choices import Rating, Source

from .definitions import COUNTS, Indicator


class Scheme(models.Model):
    """An evaluation scheme (考核方案): which indicators, their weights, and formula parameters.

    The score of an area, department or person = Σ weight × rate ÷ Σ weight over the scheme's
    indicators that have a non-zero denominator (返工率 counts as 1 − rate), × 100.
    """

    class DueToClose(models.TextChoices):
        DUE = "due", _("已结案 + 未办结已超期")
        FILED = "filed", _("全部立案数")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    code = models.SlugField(_("代码"), max_length=40, unique=True)
    is_default = models.BooleanField(_("默认方案"), default=False, help_text=_("排名页面默认使用的方案"))
    due_to_close = models.CharField(_("应结案口径"), max_length=8, choices=DueToClose.choices,
                                    default=DueToClose.DUE)
    basic_weight = models.DecimalField(
        _("基本满意折算系数"), max_digits=4, decimal_places=3, default=Decimal("1.000"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text=_("满意率中一个“基本满意”算作几个“满意”（0 到 1）"))
    use_rating = models.BooleanField(
        _("采用上报人评价"), default=True,
        help_text=_("没有回访答复的案件，按上报人的评价计入解决率和满意率"))
    min_cases = models.PositiveIntegerField(_("参与排名的最少案件数"), default=1,
                                            help_text=_("当月案件少于此数的区域不排名"))
    notes = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("考核方案")
        verbose_name_plural = _("考核方案")
        ordering = ["-is_default", "name"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                               name="evaluation_one_default_scheme")]

    def __str__(self) -> str:
        return self.name


class SchemeItem(models.Model):
    """One indicator of a scheme, with its weight and the case sources it counts."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="items")
    indicator = models.CharField(_("指标"), max_length=20, choices=Indicator.choices)
    weight = models.DecimalField(_("权重"), max_digits=6, decimal_places=2,
                                 validators=[MinValueValidator(Decimal(0))])
    sources = models.JSONField(_("案件来源"), default=list, blank=True,
                               help_text=_('只统计这些来源的案件，如 ["hotline"]；留空表示全部来源'))
    sort = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("考核指标")
        verbose_name_plural = _("考核指标")
        ordering = ["scheme", "sort", "id"]
        constraints = [models.UniqueConstraint(fields=["scheme", "indicator"], name="evaluation_item_unique")]

    def __str__(self) -> str:
        return f"{self.scheme} · {self.get_indicator_display()} {self.weight}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if not isinstance(self.sources, list) or any(s not in Source.values for s in self.sources):
            raise ValidationError({"sources": [_("来源须为列表，取值：%(values)s") % {
                "values": ", ".join(Source.values)}]})


def _count_fields(cls):
    for name in COUNTS:
        cls.add_to_class(name, models.PositiveIntegerField(default=0))
    return cls


class MonthlyFact(models.Model):
    """Counts of one month's cases per grid × department × category × source (the pre-aggregate).

    ``area_path`` copies the grid's path so that any subtree is one indexed prefix scan; cases not
    yet located have no area. Rewritten by ``services.recount_month``.
    """

    month = models.DateField(_("月份"))
    area = models.ForeignKey("areas.Area", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    area_path = models.CharField(max_length=255, blank=True, default="")
    department = models.ForeignKey("orgs.Department", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")
    category = models.ForeignKey("cases.Category", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    source = models.CharField(max_length=16)

    class Meta:
        verbose_name = _("月度统计")
        verbose_name_plural = _("月度统计")
        indexes = [
            models.Index(fields=["month", "area_path"], name="evaluation_fact_month_path",
                         opclasses=["date_ops", "varchar_pattern_ops"]),
            models.Index(fields=["month", "department"], name="evaluation_fact_month_dept"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.area_path or '-'} {self.source}"


class AreaMonth(models.Model):
    """``MonthlyFact`` rolled up to every area (each grid and all its ancestors) per month and
    source: a ranking of one level's areas reads a few dozen rows."""

    month = models.DateField(_("月份"))
    area = models.ForeignKey("areas.Area", on_delete=models.CASCADE, related_name="+")
    level = models.ForeignKey("areas.AreaLevel", on_delete=models.CASCADE, related_name="+")
    area_path = models.CharField(max_length=255)
    source = models.CharField(max_length=16)

    class Meta:
        verbose_name = _("区域月度汇总")
        verbose_name_plural = _("区域月度汇总")
        indexes = [models.Index(fields=["month", "level"], name="evaluation_areamonth_level")]
        constraints = [models.UniqueConstraint(fields=["month", "area", "source"], name="evaluation_areamonth_unique")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.area_path} {self.source}"


_count_fields(MonthlyFact)
_count_fields(AreaMonth)


class RecountLog(models.Model):
    """When each month's facts were last rewritten (and how long it took)."""

    month = models.DateField(_("月份"), unique=True)
    counted_at = models.DateTimeField(_("统计时间"))
    cases = models.PositiveIntegerField(_("案件数"), default=0)
    rows = models.PositiveIntegerField(_("统计行数"), default=0)
    seconds = models.FloatField(_("耗时（秒）"), default=0)

    class Meta:
        verbose_name = _("统计记录")
        verbose_name_plural = _("统计记录")
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} @ {self.counted_at:%Y-%m-%d %H:%M}"


class EvaluationSettings(models.Model):
    """The admin's knobs (a single row, ``EvaluationSettings.load()``)."""

    recount_minutes = models.PositiveIntegerField(
        _("重新统计间隔（分钟）"), default=15, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)])
    recount_months = models.PositiveSmallIntegerField(
        _("重新统计最近几个月"), default=3, validators=[MinValueValidator(1), MaxValueValidator(36)],
        help_text=_("命令 recount_indicators 默认重新统计的月数；后台任务只重新统计有变化的月份和本月"))
    visit_share = models.DecimalField(
        _("回访抽样比例"), max_digits=4, decimal_places=3, default=Decimal("0.100"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text=_("每月已结案案件中抽取回访的比例，按部门和街道分层"))
    visit_min_per_group = models.PositiveSmallIntegerField(
        _("每组至少回访"), default=1, help_text=_("每个部门 × 街道分组每月至少抽取的案件数（不超过该组结案数）"))
    next_recount_at = models.DateTimeField(_("下次统计"), null=True, blank=True)
    #: The last timeline row the recount has seen: the months of cases with newer rows are re-counted.
    last_event_id = models.BigIntegerField(default=0, editable=False)
    last_recount_at = models.DateTimeField(_("上次统计"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("考核评价设置")
        verbose_name_plural = _("考核评价设置")

    def __str__(self) -> str:
        return str(_("考核评价设置"))

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> EvaluationSettings:
        row = cls.objects.filter(pk=1).first()
        if row is None:
            row, _created = cls.objects.get_or_create(pk=1)
        return row


def new_token() -> str:
    return secrets.token_urlsafe(24)


class ReturnVisit(models.Model):
    """A return visit (回访) of a closed case drawn in the month's sample: asked online (the reporter
    gets a link) or by a caller (电话回访). The answer feeds 解决率 and 满意率."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待回访")
        ANSWERED = "answered", _("已回访")
        UNREACHABLE = "unreachable", _("联系不上")
        DECLINED = "declined", _("拒绝回访")

    class Channel(models.TextChoices):
        ONLINE = "online", _("线上")
        PHONE = "phone", _("电话")

    case = models.OneToOneField("cases.Case", verbose_name=_("案件"), on_delete=models.CASCADE,
                                related_name="return_visit")
    month = models.DateField(_("抽样月份"))
    stratum = models.CharField(_("分组"), max_length=64, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    channel = models.CharField(_("方式"), max_length=8, choices=Channel.choices, default=Channel.PHONE)
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    resolved = models.BooleanField(_("问题是否解决"), null=True, blank=True)
    satisfaction = models.CharField(_("满意度"), max_length=16, choices=Rating.choices, blank=True)
    comment = models.TextField(_("意见"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("联系次数"), default=0)
    created_at = models.DateTimeField(_("抽样时间"), default=timezone.now)
    answered_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("回访人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("回访")
        verbose_name_plural = _("回访")
        ordering = ["status", "-created_at", "-id"]
        indexes = [models.Index(fields=["month", "status"], name="evaluation_visit_month_status")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_status_display()}"

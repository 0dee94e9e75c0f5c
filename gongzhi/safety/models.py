"""Public-safety grading (平安等级, DOMAIN.md S10, seed 004: Xining's five-colour grading).

Each police-station jurisdiction (``PoliceArea``) is graded every month from four objective counts
(刑事案件, 治安案件, 两抢一盗, 诈骗) and residents' satisfaction into one of five levels, by a
versioned threshold scheme (``GradingScheme``: rules are data, stored beside each grade). A red or
black grade gets follow-up measures (``Measure``: what, who, by when), whose feedback is recorded
(``Feedback``): grade → measures → feedback. ``GradeEvent`` is the grade's own timeline.

A police jurisdiction does not follow street boundaries, so it is not a node of the area tree: it
has its own polygon and a list of the tree's areas it overlaps (``covers``), which decides who sees
it (docs/safety.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    """The five levels, best first; ``RANK`` orders them (0 = green)."""

    GREEN = "green", _("绿色·良好")
    BLUE = "blue", _("蓝色·安全")
    YELLOW = "yellow", _("黄色·关注")
    RED = "red", _("红色·警告")
    BLACK = "black", _("黑色·严重")


LEVELS = [Level.GREEN, Level.BLUE, Level.YELLOW, Level.RED, Level.BLACK]
RANK = {level.value: i for i, level in enumerate(LEVELS)}
#: map colours (the legend and the map use the same)
COLOURS = {"green": "#2e7d32", "blue": "#1565c0", "yellow": "#f9a825", "red": "#c62828", "black": "#212121"}
#: levels that must get follow-up measures
NEEDS_MEASURES = {Level.RED.value, Level.BLACK.value}


class Indicator(models.TextChoices):
    CRIMINAL = "criminal", _("刑事案件")
    PUBLIC_ORDER = "public_order", _("治安案件")
    ROBBERY_THEFT = "robbery_theft", _("两抢一盗")
    FRAUD = "fraud", _("诈骗案件")
    SATISFACTION = "satisfaction", _("群众满意率")


COUNT_INDICATORS = ["criminal", "public_order", "robbery_theft", "fraud"]


class PoliceAreaQuerySet(models.QuerySet):
    def visible_to(self, user) -> PoliceAreaQuerySet:
        """The read door: jurisdictions that overlap the user's part of the area tree (a covered area
        inside it or above it), or whose police station the user works for."""
        from gongzhi.areas.models import Area
        from gongzhi.core.scoping import jurisdiction

        scope = jurisdiction(user)
        if scope.everything:
            return self.all()
        if scope.empty and not scope.department_ids:
            return self.none()
        inside = Area.objects.under_paths(scope.paths).values("pk")
        q = Q(covers__in=inside) | Q(covers__in=scope.ancestor_ids) | Q(department__in=scope.department_ids)
        return self.filter(pk__in=self.model.objects.filter(q).values("pk"))


class PoliceArea(models.Model):
    """A police station's jurisdiction (派出所辖区 or 警务区): its own boundary, the station that
    answers for it, the resident population the rates are counted on, and the areas of the tree it
    overlaps (for visibility and for the street-level reports)."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    name_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    code = models.SlugField(_("编码"), max_length=32, unique=True)
    department = models.ForeignKey("orgs.Department", verbose_name=_("派出所"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="police_areas")
    population = models.PositiveIntegerField(_("常住人口"), default=0,
                                             help_text=_("按万人计算发案率时使用"))
    geometry = models.JSONField(_("边界"), null=True, blank=True, help_text=_("GeoJSON 几何（WGS84）"))
    covers = models.ManyToManyField("areas.Area", verbose_name=_("涉及区域"), blank=True,
                                    related_name="police_areas",
                                    help_text=_("辖区覆盖或部分覆盖的街道、社区等，决定谁能看到本辖区"))
    is_active = models.BooleanField(_("启用"), default=True)

    objects = PoliceAreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("警务辖区")
        verbose_name_plural = _("警务辖区")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class GradingScheme(models.Model):
    """A versioned set of thresholds (rules as data, ARCHITECTURE pattern 7). Exactly one is active;
    each grade keeps the scheme it was computed with. ``rules`` is described in docs/safety.md and
    checked by ``grading.validate_rules``."""

    version = models.PositiveIntegerField(_("版本"), unique=True)
    name = models.CharField(_("名称"), max_length=100)
    rules = models.JSONField(_("规则"))
    note = models.TextField(_("说明"), blank=True)
    is_active = models.BooleanField(_("当前使用"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("等级评定方案")
        verbose_name_plural = _("等级评定方案")
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True),
                                               name="safety_one_active_scheme")]

    def __str__(self) -> str:
        return f"v{self.version} {self.name}"


class GradeQuerySet(models.QuerySet):
    def visible_to(self, user) -> GradeQuerySet:
        """Grades of visible jurisdictions: published ones for everyone who sees the jurisdiction,
        drafts only for those who may enter or publish them (``rules.can_enter``)."""
        from gongzhi.core.scoping import jurisdiction

        scope = jurisdiction(user)
        qs = self.filter(police_area__in=PoliceArea.objects.visible_to(user))
        if scope.everything:
            return qs
        from .rules import draft_filter

        return qs.filter(Q(status=Grade.Status.PUBLISHED) | draft_filter(user))


class Grade(models.Model):
    """One jurisdiction's month: the figures as entered, the level computed from them, and the
    scheme used. A published grade is frozen (docs/safety.md: publishing)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("待发布")
        PUBLISHED = "published", _("已发布")

    police_area = models.ForeignKey(PoliceArea, verbose_name=_("警务辖区"), on_delete=models.CASCADE,
                                    related_name="grades")
    month = models.DateField(_("月份"), help_text=_("该月 1 日"))
    criminal = models.PositiveIntegerField(_("刑事案件"))
    public_order = models.PositiveIntegerField(_("治安案件"))
    robbery_theft = models.PositiveIntegerField(_("两抢一盗"))
    fraud = models.PositiveIntegerField(_("诈骗案件"))
    satisfaction = models.DecimalField(_("群众满意率（%）"), max_digits=5, decimal_places=2)
    population = models.PositiveIntegerField(_("常住人口"), default=0)
    level = models.CharField(_("等级"), max_length=8, choices=Level.choices)
    scheme = models.ForeignKey(GradingScheme, verbose_name=_("评定方案"), on_delete=models.PROTECT,
                               related_name="grades")
    detail = models.JSONField(_("评定明细"), default=dict, blank=True)
    source = models.CharField(_("来源"), max_length=16, default="form")
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发布人"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = GradeQuerySet.as_manager()

    class Meta:
        verbose_name = _("平安等级")
        verbose_name_plural = _("平安等级")
        ordering = ["-month", "police_area__code"]
        constraints = [models.UniqueConstraint(fields=["police_area", "month"], name="safety_grade_unique_month")]
        indexes = [models.Index(fields=["month", "status"], name="safety_grade_month")]

    def __str__(self) -> str:
        return f"{self.police_area} {self.month:%Y-%m} {self.get_level_display()}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def needs_measures(self) -> bool:
        return self.level in NEEDS_MEASURES

    @property
    def colour(self) -> str:
        return COLOURS[self.level]

    def figures(self) -> dict:
        return {"criminal": self.criminal, "public_order": self.public_order, "robbery_theft": self.robbery_theft,
                "fraud": self.fraud, "satisfaction": str(self.satisfaction), "population": self.population}


class Measure(models.Model):
    """A follow-up measure (整改措施) for a red or black grade: what, who answers for it, by when."""

    class Status(models.TextChoices):
        OPEN = "open", _("落实中")
        DONE = "done", _("已落实")

    grade = models.ForeignKey(Grade, verbose_name=_("平安等级"), on_delete=models.CASCADE, related_name="measures")
    what = models.TextField(_("措施内容"))
    owner = models.CharField(_("责任人"), max_length=100)
    department = models.ForeignKey("orgs.Department", verbose_name=_("责任单位"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    due_on = models.DateField(_("完成期限"))
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("下达人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("下达时间"), auto_now_add=True)
    done_at = models.DateTimeField(_("落实时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("整改措施")
        verbose_name_plural = _("整改措施")
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return self.what[:40]


class Feedback(models.Model):
    """What was done about a measure (落实反馈)."""

    class Result(models.TextChoices):
        PROGRESS = "progress", _("正在落实")
        DONE = "done", _("已落实")
        BLOCKED = "blocked", _("遇到困难")

    measure = models.ForeignKey(Measure, verbose_name=_("整改措施"), on_delete=models.CASCADE,
                                related_name="feedback")
    result = models.CharField(_("结果"), max_length=12, choices=Result.choices)
    note = models.TextField(_("反馈内容"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("反馈人"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(_("反馈人"), max_length=64)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("落实反馈")
        verbose_name_plural = _("落实反馈")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.measure} · {self.get_result_display()}"


class GradeEvent(models.Model):
    """The grade's timeline: figures entered, graded, published, measure added, feedback."""

    grade = models.ForeignKey(Grade, verbose_name=_("平安等级"), on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("动作"), max_length=24)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_name = models.CharField(_("操作人"), max_length=64)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("平安等级记录")
        verbose_name_plural = _("平安等级记录")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.grade} {self.action}"

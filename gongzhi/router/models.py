"""Smart dispatch's tables: the trained models (versioned, one active per target), every suggestion
made (so its real accuracy can be reported), and the admin's settings (one row) with per-category
confidence thresholds.

Labels are stable codes, not row ids: a category's ``code`` (the same across directory versions)
and a department's ``code``.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Target(models.TextChoices):
    CATEGORY = "category", _("案件分类")
    DEPARTMENT = "department", _("处置部门")


class RouterModel(models.Model):
    """One trained router: what it learnt from, how well it did on held-out cases, the model itself."""

    class Source(models.TextChoices):
        HISTORY = "history", _("本地历史案件")
        DIRECTORY = "directory", _("分类目录（冷启动）")

    target = models.CharField(_("预测对象"), max_length=16, choices=Target.choices)
    version = models.PositiveIntegerField(_("版本"))
    created_at = models.DateTimeField(_("训练时间"), default=timezone.now)
    source = models.CharField(_("训练来源"), max_length=16, choices=Source.choices)
    examples = models.PositiveIntegerField(_("训练样本数"), default=0)
    corrections = models.PositiveIntegerField(_("其中纠正样本"), default=0)
    labels = models.PositiveIntegerField(_("类别数"), default=0)
    data_from = models.DateTimeField(_("样本起始"), null=True, blank=True)
    data_to = models.DateTimeField(_("样本截止"), null=True, blank=True)
    metrics = models.JSONField(_("评估指标"), default=dict, blank=True,
                               help_text=_("留出集上的 accuracy、macro_f1、top3 等"))
    train_seconds = models.FloatField(_("训练耗时（秒）"), default=0)
    blob = models.BinaryField(_("模型"), editable=False)
    is_active = models.BooleanField(_("当前使用"), default=False)
    activated_at = models.DateTimeField(_("启用时间"), null=True, blank=True)
    notes = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("分派模型")
        verbose_name_plural = _("分派模型")
        ordering = ["target", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["target", "version"], name="router_model_version"),
            models.UniqueConstraint(fields=["target"], condition=Q(is_active=True), name="router_one_active"),
        ]

    def __str__(self) -> str:
        return f"{self.get_target_display()} v{self.version}"

    def figure(self, name: str):
        value = (self.metrics or {}).get(name)
        return value if isinstance(value, int | float) else None


class Suggestion(models.Model):
    """What one model suggested for one case (top 3), logged once per case and model.

    Whether it was taken is not stored but read from the case (``queries``): the suggestion was
    *taken* when the case's final category (or department) is the top-1 label, *in top 3* when it
    is any of the three. So the figures stay right after a return and re-dispatch.
    """

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="router_suggestions")
    target = models.CharField(_("预测对象"), max_length=16, choices=Target.choices)
    model = models.ForeignKey(RouterModel, verbose_name=_("模型"), on_delete=models.PROTECT,
                              related_name="suggestions")
    top = models.JSONField(_("建议"), default=list,
                           help_text='[{"label", "id", "name", "p", "words"}], best first')
    label1 = models.CharField(max_length=32, blank=True, db_index=True)
    label2 = models.CharField(max_length=32, blank=True)
    label3 = models.CharField(max_length=32, blank=True)
    p1 = models.FloatField(_("置信度"), default=0)
    #: The category the case had when the suggestion was made (the reporter's hint, before filing).
    reported_category = models.CharField(max_length=16, blank=True)
    auto_dispatched = models.BooleanField(_("自动派遣"), default=False)
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("分派建议")
        verbose_name_plural = _("分派建议")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["case", "model"], name="router_suggestion_once")]
        indexes = [models.Index(fields=["model", "created_at"], name="router_suggestion_model_at")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.target} {self.label1} {self.p1:.2f}"

    @property
    def labels(self) -> list[str]:
        return [label for label in (self.label1, self.label2, self.label3) if label]


def _probability() -> list:
    return [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))]


class RouterSettings(models.Model):
    """The admin's switches (a single row, ``RouterSettings.load()``)."""

    suggestions_enabled = models.BooleanField(_("显示智能分派建议"), default=True)
    auto_dispatch_enabled = models.BooleanField(
        _("按置信度自动派遣"), default=False,
        help_text=_("开启后，置信度达到阈值的上报将自动立案并派遣（规则已能确定部门的除外）"))
    default_threshold = models.DecimalField(
        _("默认置信度阈值"), max_digits=4, decimal_places=3, default=Decimal("0.900"),
        validators=_probability(), help_text=_("0 到 1 之间；分类没有单独设置时使用"))
    retrain_hours = models.PositiveIntegerField(
        _("重新训练间隔（小时）"), default=24, validators=[MinValueValidator(1), MaxValueValidator(24 * 90)])
    min_examples = models.PositiveIntegerField(
        _("最少训练样本"), default=200, validators=[MinValueValidator(10)],
        help_text=_("本地历史样本少于此数时，按分类目录冷启动"))
    correction_weight = models.DecimalField(
        _("纠正样本权重"), max_digits=4, decimal_places=1, default=Decimal("3.0"),
        validators=[MinValueValidator(Decimal(1)), MaxValueValidator(Decimal(20))],
        help_text=_("退回改派、立案时改分类的案件，作为样本的权重"))
    history_days = models.PositiveIntegerField(
        _("训练使用的历史天数"), default=730, validators=[MinValueValidator(7)])
    auto_activate = models.BooleanField(_("定时训练后自动启用"), default=True,
                                        help_text=_("冷启动模型不会自动替换用历史训练的模型"))
    #: The worker's claim: the next scheduled training (conditional UPDATE; NULL = as soon as possible).
    next_train_at = models.DateTimeField(_("下次训练"), null=True, blank=True)
    last_train_at = models.DateTimeField(_("上次训练"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("智能分派设置")
        verbose_name_plural = _("智能分派设置")

    def __str__(self) -> str:
        return str(_("智能分派设置"))

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> RouterSettings:
        row = cls.objects.filter(pk=1).first()
        if row is None:
            row, _created = cls.objects.get_or_create(pk=1)
        return row


class CategoryThreshold(models.Model):
    """A confidence threshold for one category (by code, so it survives a new directory version)."""

    settings = models.ForeignKey(RouterSettings, on_delete=models.CASCADE, related_name="thresholds")
    category_code = models.CharField(_("分类编码"), max_length=16)
    threshold = models.DecimalField(_("置信度阈值"), max_digits=4, decimal_places=3, validators=_probability(),
                                    help_text=_("设为 1 表示该分类从不自动派遣"))

    class Meta:
        verbose_name = _("分类阈值")
        verbose_name_plural = _("分类阈值")
        ordering = ["category_code"]
        constraints = [models.UniqueConstraint(fields=["settings", "category_code"], name="router_threshold_once")]

    def __str__(self) -> str:
        return f"{self.category_code} ≥ {self.threshold}"

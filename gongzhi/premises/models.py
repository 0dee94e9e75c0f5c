"""The premises registry (场所): shops, rentals, group rentals, markets, building sites … that the joint
inspection teams visit (issue 8). Types are data; a premises is placed in the area tree by its
location (``services.locate``); licences, photos and the history hang off it.

Reads go through ``Premises.objects.visible_to(user)`` (the read door, ``core/scoping.py``); every
write goes through ``services`` and leaves an audit row (``core/audit.py``), which the history page shows.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PremisesType(models.Model):
    """A kind of premises (商铺, 群租房, 建筑工地 …), editable in the admin. ``code`` is what files use."""

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50, unique=True)
    name_en = models.CharField(_("英文名称"), max_length=50, blank=True)
    sort = models.PositiveSmallIntegerField(_("排序"), default=100)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("场所类型")
        verbose_name_plural = _("场所类型")
        ordering = ["sort", "code"]

    def __str__(self) -> str:
        return str(self.name)


class RiskLevel(models.TextChoices):
    LOW = "low", _("低风险")
    MEDIUM = "medium", _("中风险")
    HIGH = "high", _("高风险")


class PremisesQuerySet(models.QuerySet):
    def visible_to(self, user) -> PremisesQuerySet:
        """The read door: premises located inside the user's jurisdiction; premises not yet located
        are seen by the city center (a command role at the root) and by whoever registered them."""
        from gongzhi.core.scoping import jurisdiction

        scope = jurisdiction(user)
        if scope.everything:
            return self.all()
        if not getattr(user, "is_authenticated", False):
            return self.none()
        q = Q(area__isnull=True, created_by=user)
        for path in scope.paths:
            q |= Q(area_path__startswith=path)
        if scope.sees_unlocated:
            q |= Q(area__isnull=True)
        return self.filter(q)

    def with_licence_expiring(self, days: int, today: datetime.date | None = None) -> PremisesQuerySet:
        """Premises holding a licence that expires within ``days`` days (or has expired)."""
        today = today or timezone.localdate()
        ids = Licence.objects.filter(valid_until__isnull=False,
                                     valid_until__lte=today + datetime.timedelta(days=days)).values("premises_id")
        return self.filter(pk__in=ids)


class Premises(models.Model):
    """One place the teams inspect. ``area`` is the smallest area containing ``lon``/``lat`` (a grid or a
    building); ``area_path`` copies its path so the read door is one indexed prefix query."""

    code = models.CharField(_("编号"), max_length=40, unique=True, null=True, blank=True,
                            help_text=_("导入文件用它找到已有场所；可留空"))
    name = models.CharField(_("名称"), max_length=120)
    type = models.ForeignKey(PremisesType, verbose_name=_("类型"), on_delete=models.PROTECT, related_name="premises")
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    # SET_NULL: a premises whose area is deleted goes back to "to be located" rather than blocking the delete.
    area = models.ForeignKey("areas.Area", verbose_name=_("所在网格"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="premises")
    area_path = models.CharField(max_length=255, blank=True, default="", editable=False)
    operator_name = models.CharField(_("经营者/负责人"), max_length=100, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    risk_level = models.CharField(_("风险等级"), max_length=10, choices=RiskLevel.choices, default=RiskLevel.LOW)
    notes = models.TextField(_("备注"), blank=True)
    is_active = models.BooleanField(_("在营"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = PremisesQuerySet.as_manager()

    class Meta:
        verbose_name = _("场所")
        verbose_name_plural = _("场所")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["area_path"], name="premises_area_path", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["type", "risk_level"], name="premises_type_risk"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_located(self) -> bool:
        return self.area_id is not None


class Licence(models.Model):
    """A licence or permit the premises holds (several per premises), with its expiry."""

    class Kind(models.TextChoices):
        BUSINESS = "business", _("营业执照")
        FOOD = "food", _("食品经营许可证")
        FIRE = "fire", _("消防安全检查合格证")
        ENTERTAINMENT = "entertainment", _("娱乐经营许可证")
        SPECIAL_TRADE = "special_trade", _("特种行业许可证")
        CONSTRUCTION = "construction", _("施工许可证")
        OTHER = "other", _("其他")

    premises = models.ForeignKey(Premises, verbose_name=_("场所"), on_delete=models.CASCADE, related_name="licences")
    kind = models.CharField(_("证照类型"), max_length=20, choices=Kind.choices, default=Kind.BUSINESS)
    number = models.CharField(_("证照号码"), max_length=60)
    valid_until = models.DateField(_("有效期至"), null=True, blank=True, help_text=_("长期有效可留空"))

    class Meta:
        verbose_name = _("证照")
        verbose_name_plural = _("证照")
        ordering = ["valid_until", "id"]
        constraints = [models.UniqueConstraint(fields=["premises", "kind", "number"], name="licence_unique")]
        indexes = [models.Index(fields=["valid_until"], name="licence_valid_until")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def days_left(self, today: datetime.date | None = None) -> int | None:
        if self.valid_until is None:
            return None
        return (self.valid_until - (today or timezone.localdate())).days


class PremisesPhoto(models.Model):
    """A photo of the premises (storefront, licence on the wall …), re-encoded like case photos."""

    premises = models.ForeignKey(Premises, verbose_name=_("场所"), on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("照片"), upload_to="premises/%Y/%m/", max_length=255)
    thumbnail = models.FileField(_("缩略图"), upload_to="premises/%Y/%m/", max_length=255)
    width = models.PositiveIntegerField(default=0, editable=False)
    height = models.PositiveIntegerField(default=0, editable=False)
    caption = models.CharField(_("说明"), max_length=100, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("场所照片")
        verbose_name_plural = _("场所照片")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.premises_id}#{self.pk}"

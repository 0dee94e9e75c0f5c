"""The closed loop's tables: category directory (versioned), time limits, routing rules, cases and
their timeline, photos and extensions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import OPEN_STATES, AreaClass, LimitUnit, LocateStatus, Rating, Source, Status, Step


class DirectoryVersion(models.Model):
    """A loaded version of the category directory (MapIt generations): loaded, checked, activated.

    Exactly one version is active; new cases are filed under its categories, old cases keep theirs.
    """

    name = models.CharField(_("名称"), max_length=100, unique=True)
    source = models.CharField(_("来源"), max_length=200, blank=True)
    loaded_at = models.DateTimeField(_("载入时间"), default=timezone.now)
    activated_at = models.DateTimeField(_("启用时间"), null=True, blank=True)
    is_active = models.BooleanField(_("当前版本"), default=False)
    notes = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("分类目录版本")
        verbose_name_plural = _("分类目录版本")
        ordering = ["-loaded_at"]
        constraints = [models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True),
                                               name="one_active_directory")]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """A case category (部件 / 事项, e.g. 06010 暴露垃圾), or a local one (e.g. a 12345 request type)."""

    class Kind(models.TextChoices):
        COMPONENT = "component", _("管理部件")
        MATTER = "matter", _("管理事项")
        LOCAL = "local", _("本地分类")

    version = models.ForeignKey(DirectoryVersion, verbose_name=_("目录版本"), on_delete=models.PROTECT,
                                related_name="categories")
    code = models.CharField(_("编码"), max_length=16)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    major_code = models.CharField(_("大类编码"), max_length=8, blank=True)
    major_name = models.CharField(_("大类名称"), max_length=50, blank=True)
    keywords = models.CharField(_("关键词"), max_length=300, blank=True, help_text=_("用于搜索，空格分隔"))
    default_department = models.ForeignKey("orgs.Department", verbose_name=_("默认处置部门"), null=True,
                                           blank=True, on_delete=models.SET_NULL, related_name="+")
    closing_condition = models.TextField(_("结案条件"), blank=True)
    extra_fields = models.JSONField(_("附加字段"), default=list, blank=True,
                                    help_text=_('如 [{"name": "plate", "label": "车牌号", "required": false}]'))
    is_active = models.BooleanField(_("启用"), default=True)
    is_public = models.BooleanField(
        _("公开"), default=True,
        help_text=_("公开的分类：其案件（标题、状态、位置、照片）可经 Open311 查询，并在居民上报时作为附近案件显示。"
                    "涉及个人隐私或敏感事项的分类请取消公开。"))

    class Meta:
        verbose_name = _("案件分类")
        verbose_name_plural = _("案件分类")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["version", "code"], name="category_unique_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class TimeLimit(models.Model):
    """How long one step may take for a category, per area class (blank: any class), urgent or not."""

    category = models.ForeignKey(Category, verbose_name=_("分类"), on_delete=models.CASCADE, related_name="limits")
    step = models.CharField(_("环节"), max_length=16, choices=Step.choices)
    area_class = models.CharField(_("区域类别"), max_length=1, choices=AreaClass.choices, blank=True)
    urgent = models.BooleanField(_("紧急"), default=False)
    amount = models.DecimalField(_("时限"), max_digits=7, decimal_places=2)
    unit = models.CharField(_("单位"), max_length=16, choices=LimitUnit.choices, default=LimitUnit.WORKING_HOURS)

    class Meta:
        verbose_name = _("处置时限")
        verbose_name_plural = _("处置时限")
        constraints = [
            models.UniqueConstraint(fields=["category", "step", "area_class", "urgent"], name="time_limit_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="time_limit_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.category.code} {self.get_step_display()} {self.area_class or '*'} {self.amount} {self.get_unit_display()}"


class RoutingRule(models.Model):
    """category × area → department. The deepest matching area wins, then the lowest priority number."""

    category = models.ForeignKey(Category, verbose_name=_("分类"), on_delete=models.CASCADE, related_name="rules")
    area = models.ForeignKey("areas.Area", verbose_name=_("区域"), null=True, blank=True, on_delete=models.CASCADE,
                             help_text=_("留空表示所有区域"))
    department = models.ForeignKey("orgs.Department", verbose_name=_("处置部门"), on_delete=models.CASCADE)
    priority = models.PositiveSmallIntegerField(_("优先级"), default=100)

    class Meta:
        verbose_name = _("派遣规则")
        verbose_name_plural = _("派遣规则")
        ordering = ["priority"]

    def __str__(self) -> str:
        return f"{self.category} · {self.area or '*'} → {self.department}"


class CaseQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATES)

    def public(self):
        """Cases anybody may be shown something of (Open311, the nearby list of the report page): not
        in a category marked not public (``Category.is_public``). Not yet categorised ones count."""
        return self.filter(Q(category__isnull=True) | Q(category__is_public=True))

    def visible_to(self, user):
        """The read door for cases: inside the user's areas, dispatched to their department, or their own."""
        from gongzhi.core.scoping import jurisdiction

        scope = jurisdiction(user)
        if scope.everything:
            return self.all()
        if not getattr(user, "is_authenticated", False):
            return self.none()
        q = Q(reporter=user)
        followed = followed_case_ids(user)
        if followed:
            q |= Q(pk__in=followed)  # cases the user follows (CaseFollower): a list, not a join
        for path in scope.paths:
            q |= Q(area_path__startswith=path)
        if scope.department_ids:
            q |= Q(department__in=scope.department_ids)
        if scope.sees_unlocated:
            q |= Q(area__isnull=True)
        return self.filter(q)


def followed_case_ids(user) -> list[int]:
    """Ids of the cases ``user`` follows, read once per user object (i.e. once per request), like
    ``jurisdiction``; ``follow_case``/``unfollow_case`` drop the cached list."""
    cached = getattr(user, "_gongzhi_followed", None)
    if cached is None:
        cached = list(CaseFollower.objects.filter(user=user).values_list("case_id", flat=True))
        user._gongzhi_followed = cached
    return cached


class Case(models.Model):
    """One reported problem, from report to rating."""

    number = models.CharField(_("案件编号"), max_length=32, unique=True)
    title = models.CharField(_("标题"), max_length=100)
    description = models.TextField(_("描述"), blank=True)
    category = models.ForeignKey(Category, verbose_name=_("分类"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="cases")
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices, default=Source.RESIDENT)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.REPORTED)
    urgent = models.BooleanField(_("紧急"), default=False)
    extra = models.JSONField(_("附加信息"), default=dict, blank=True)

    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    area = models.ForeignKey("areas.Area", verbose_name=_("所在网格"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="cases")
    area_path = models.CharField(max_length=255, blank=True, default="", editable=False,
                                 help_text="copy of area.path at filing: one indexed prefix query per jurisdiction")
    locate_status = models.CharField(_("定位"), max_length=16, choices=LocateStatus.choices,
                                     default=LocateStatus.LOCATED)

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上报人"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="reported_cases")
    reporter_name = models.CharField(_("上报人姓名"), max_length=64, blank=True)
    reporter_phone = models.CharField(_("上报人电话"), max_length=32, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, editable=False)  # noqa: DJ001 (NULL: no key, outside the unique constraint)

    department = models.ForeignKey("orgs.Department", verbose_name=_("处置部门"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="cases")
    master = models.ForeignKey("self", verbose_name=_("合并至"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="duplicates")

    created_at = models.DateTimeField(_("上报时间"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    filed_at = models.DateTimeField(_("立案时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    handled_at = models.DateTimeField(_("处置时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)

    # The clock of the current step (choices.STEP_OF_STATE); the sweeper watches these.
    step_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    due_at = models.DateTimeField(_("期限"), null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    warned = models.BooleanField(default=False, editable=False)
    overdue = models.BooleanField(_("超期"), default=False, db_index=True)
    escalation_level = models.PositiveSmallIntegerField(_("督办级别"), default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True, editable=False)

    rework_count = models.PositiveSmallIntegerField(_("返工次数"), default=0)
    return_count = models.PositiveSmallIntegerField(_("退回次数"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    rating = models.CharField(_("评价"), max_length=16, choices=Rating.choices, blank=True)
    rating_comment = models.TextField(_("评价意见"), blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        ordering = ["-created_at", "-id"]
        indexes = [
            # A plain b-tree: db_index=True would add a second, unused ``_like`` index on PostgreSQL.
            models.Index(fields=["status"], name="case_status"),
            models.Index(fields=["area_path"], name="case_area_path", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["department", "status"], name="case_department_status"),
            models.Index(fields=["status", "created_at"], name="case_status_created"),
            models.Index(fields=["due_at"], name="case_open_due", condition=Q(status__in=OPEN_STATES)),
            models.Index(fields=["warn_at"], name="case_open_warn", condition=Q(warned=False, status__in=OPEN_STATES)),
            models.Index(fields=["next_escalation_at"], name="case_open_escalation",
                         condition=Q(status__in=OPEN_STATES)),
            # duplicates.find_duplicates: open cases inside a lon/lat box around a point
            models.Index(fields=["lat", "lon"], name="case_open_latlon", condition=Q(status__in=OPEN_STATES)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reporter", "idempotency_key"], name="case_idempotency",
                                    condition=Q(idempotency_key__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES


class CaseEvent(models.Model):
    """The case's timeline: one row per transition (Saleor OrderEvent, Healthchecks Flip)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(_("操作人"), max_length=64, blank=True)
    action = models.CharField(_("操作"), max_length=32)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    department = models.ForeignKey("orgs.Department", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    #: When the notifications for this event were written (the worker's outbox; see notifications).
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("案件过程")
        verbose_name_plural = _("案件过程")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="case_event_case_at"),
                   models.Index(fields=["action", "at"], name="case_event_action_at"),
                   models.Index(fields=["id"], condition=models.Q(notified_at__isnull=True),
                                name="case_event_to_notify")]

    def __str__(self) -> str:
        return f"{self.case.number} {self.action} {self.at:%Y-%m-%d %H:%M}"


def photo_path(instance: CasePhoto, filename: str) -> str:
    day = timezone.localdate()
    return f"cases/{day:%Y/%m}/{instance.case.number}/{filename}"


class CasePhoto(models.Model):
    """A photo on a case. ``image`` is the re-encoded original (private); ``public`` has no EXIF."""

    class Stage(models.TextChoices):
        REPORT = "report", _("上报")
        HANDLE = "handle", _("处置")
        VERIFY = "verify", _("核查")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    event = models.ForeignKey(CaseEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="photos")
    stage = models.CharField(_("环节"), max_length=16, choices=Stage.choices, default=Stage.REPORT)
    image = models.FileField(_("原图"), upload_to=photo_path, max_length=255)
    public = models.FileField(_("公开图"), upload_to=photo_path, max_length=255)
    thumbnail = models.FileField(_("缩略图"), upload_to=photo_path, max_length=255)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("案件照片")
        verbose_name_plural = _("案件照片")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.case.number} {self.get_stage_display()} #{self.pk}"


class Extension(models.Model):
    """A department's request for more time, and the center's decision."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    amount = models.DecimalField(_("延期时长"), max_digits=7, decimal_places=2)
    unit = models.CharField(_("单位"), max_length=16, choices=LimitUnit.choices, default=LimitUnit.WORKING_DAYS)
    reason = models.TextField(_("理由"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    approved = models.BooleanField(null=True)
    new_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        constraints = [models.UniqueConstraint(fields=["case"], condition=Q(decided_at__isnull=True),
                                               name="one_pending_extension")]

    def __str__(self) -> str:
        return f"{self.case.number} +{self.amount} {self.get_unit_display()}"


class CaseSequence(models.Model):
    """The last number used per prefix (district code + date), for readable unique case numbers."""

    prefix = models.CharField(max_length=32, unique=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("案件编号序列")
        verbose_name_plural = _("案件编号序列")

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last}"


class CaseFollower(models.Model):
    """A person who follows a case they did not report (关注): a resident who found it open near them
    instead of reporting it again, or the reporter of a duplicate merged into it. Followers see the
    case (``Case.objects.visible_to``) and are told of its progress (notifications.recipients)."""

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("关注人"), on_delete=models.CASCADE,
                             related_name="followed_cases")
    created_at = models.DateTimeField(_("关注时间"), default=timezone.now)

    class Meta:
        verbose_name = _("案件关注")
        verbose_name_plural = _("案件关注")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="case_follower_unique")]
        indexes = [models.Index(fields=["user", "case"], name="case_follower_user")]

    def __str__(self) -> str:
        return f"{self.case_id} ← {self.user_id}"

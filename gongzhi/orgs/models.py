"""People, the roles they hold in areas, and the departments that serve areas."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

phone_validator = RegexValidator(r"^1\d{10}$", _("请输入 11 位手机号码"))


class User(AbstractUser):
    """A person who logs in, by username or by mobile phone number."""

    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    phone = models.CharField(
        _("手机号码"), max_length=11, unique=True, null=True, blank=True, validators=[phone_validator]
    )

    objects = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class Role(models.Model):
    """A role a person can hold in an area: 网格长, 片长, 巷长, 栋长, 网格员, 信息员, 社区书记 …

    ``sees_subtree`` says whether the role opens the area's subtree to its holder (true for almost
    all); ``is_command_center`` marks roles that triage and dispatch cases at that level.
    """

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=32)
    name_en = models.CharField(_("英文名称"), max_length=64, blank=True)
    description = models.TextField(_("职责"), blank=True)
    sees_subtree = models.BooleanField(_("可见本区域及下级"), default=True)
    is_command_center = models.BooleanField(_("指挥中心角色"), default=False)
    sort = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        ordering = ["sort", "code"]

    def __str__(self) -> str:
        return str(self.name)


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(ended_on__isnull=True)

    def visible_to(self, user):
        """Role holders inside the user's jurisdiction."""
        from gongzhi.areas.models import Area

        return self.filter(area__in=Area.objects.visible_to(user))


class Membership(models.Model):
    """A person holding a role in an area (e.g. 张三 is 栋长 of 凤凰小巷 3号楼)."""

    user = models.ForeignKey(User, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="memberships")
    area = models.ForeignKey(
        "areas.Area", verbose_name=_("区域"), on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.ForeignKey(Role, verbose_name=_("角色"), on_delete=models.PROTECT, related_name="memberships")
    started_on = models.DateField(_("任职日期"), auto_now_add=True)
    ended_on = models.DateField(_("卸任日期"), null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("区域角色")
        verbose_name_plural = _("区域角色")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "area", "role"], condition=models.Q(ended_on__isnull=True),
                name="membership_unique_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.area} · {self.role}"


class DepartmentQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Departments the user belongs to, or that serve an area in or above their jurisdiction."""
        from gongzhi.core.scoping import jurisdiction

        scope = jurisdiction(user)
        if scope.everything:
            return self.all()
        from gongzhi.areas.models import Area

        ids = set(scope.ancestor_ids) | set(Area.objects.under_paths(scope.paths).values_list("pk", flat=True))
        return self.filter(models.Q(areas__in=ids) | models.Q(pk__in=scope.department_ids)).distinct()


class Department(models.Model):
    """A functional department (派出所, 市场监管所, 综合执法中队, 街道办 …) serving a set of areas."""

    class Kind(models.TextChoices):
        STREET_OFFICE = "street_office", _("街道办事处")
        POLICE = "police", _("派出所")
        MARKET = "market", _("市场监管所")
        ENFORCEMENT = "enforcement", _("综合执法")
        JUDICIAL = "judicial", _("司法所")
        COMMAND_CENTER = "command_center", _("指挥中心")
        UTILITY = "utility", _("公用事业")
        OTHER = "other", _("其他")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    name_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    code = models.SlugField(_("代码"), max_length=32, unique=True)
    kind = models.CharField(_("类别"), max_length=32, choices=Kind.choices, default=Kind.OTHER)
    home_area = models.ForeignKey(
        "areas.Area", verbose_name=_("所属区域"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    areas = models.ManyToManyField("areas.Area", verbose_name=_("服务区域"), blank=True, related_name="departments")
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    objects = DepartmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Staff(models.Model):
    """A person working for a department."""

    department = models.ForeignKey(Department, verbose_name=_("部门"), on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(User, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="staff_posts")
    title = models.CharField(_("职务"), max_length=64, blank=True)
    is_head = models.BooleanField(_("负责人"), default=False)

    class Meta:
        verbose_name = _("部门人员")
        verbose_name_plural = _("部门人员")
        constraints = [models.UniqueConstraint(fields=["department", "user"], name="staff_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.department}"


class LoginThrottle(models.Model):
    """Failed password logins counted per account and per client address (see orgs.lockout).

    ``key`` is ``user:<id>`` for an existing account (so a username and a phone number count as one),
    ``login:<text>`` for a name that matches no account (so probing doesn't reveal which exist), or
    the IP address. A row is locked while ``locked_until`` lies in the future.
    """

    class Scope(models.TextChoices):
        ACCOUNT = "account", _("账号")
        IP = "ip", _("IP 地址")

    scope = models.CharField(_("范围"), max_length=8, choices=Scope.choices)
    key = models.CharField(_("键"), max_length=160)
    user = models.ForeignKey(User, verbose_name=_("人员"), null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    failures = models.PositiveIntegerField(_("失败次数"), default=0)
    first_failure_at = models.DateTimeField(_("首次失败"))
    last_failure_at = models.DateTimeField(_("最近失败"), db_index=True)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("登录失败与锁定")
        verbose_name_plural = _("登录失败与锁定")
        ordering = ["-last_failure_at"]
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="login_throttle_unique")]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.key}"

    def is_locked(self, now=None) -> bool:
        from django.utils import timezone

        return self.locked_until is not None and self.locked_until > (now or timezone.now())


class UserSession(models.Model):
    """One web session of a person (sessions live in the database): lets a person see where they are
    logged in and end every other session ("logout everywhere"). Rows are written at login and
    removed at logout; rows whose session has expired are ignored and pruned."""

    user = models.ForeignKey(User, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="web_sessions")
    session_key = models.CharField(_("会话"), max_length=40, unique=True)
    created_at = models.DateTimeField(_("登录时间"), auto_now_add=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("登录会话")
        verbose_name_plural = _("登录会话")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} · {self.created_at:%Y-%m-%d %H:%M}"

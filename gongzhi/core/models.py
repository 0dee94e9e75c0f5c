"""The shared kernel's tables: audit log, working calendar, API tokens."""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised when code tries to edit or delete an append-only row."""


class AppendOnlyMixin:
    """Rows that are history: never edited, never deleted (a correction is a new row). Add
    ``objects = AppendOnlyQuerySet.as_manager()`` to refuse bulk ``update()``/``delete()`` too."""

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{self._meta.label} rows are never changed (a correction is a new row)")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.label} rows are never deleted")

class AppendOnlyQuerySet(models.QuerySet):
    """Bulk ``update()`` and ``delete()`` would bypass ``save``/``delete``: refuse them too (not for
    AuditLog, whose sealer fills the hash columns with ``bulk_update``)."""

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model._meta.label} rows are append-only")

    def delete(self):
        raise AppendOnlyError(f"{self.model._meta.label} rows are append-only")

    update.queryset_only = True
    delete.queryset_only = True


class AuditLog(AppendOnlyMixin, models.Model):
    """One row per change made by a service function (NetBox ObjectChange, Zulip RealmAuditLog).

    Append-only: rows are never edited or deleted by the application. ``actor_name`` is copied so
    the row survives the deletion of the user; ``request_id`` groups the rows of one request.
    """

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(_("操作人名称"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True, db_index=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    before = models.JSONField(_("变更前"), null=True, blank=True)
    after = models.JSONField(_("变更后"), null=True, blank=True)
    note = models.TextField(_("说明"), blank=True)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    # The hash chain (core.audit): empty until the sealing pass gives the row its place in the chain.
    seq = models.BigIntegerField(_("链序号"), null=True, blank=True, unique=True, editable=False)
    prev_hash = models.CharField(_("前一条哈希"), max_length=64, blank=True, editable=False)
    hash = models.CharField(_("哈希"), max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"


class AuditChain(models.Model):
    """The head of the audit hash chain: one row (pk=1), the last sealed row's place and hash.

    The sealing pass locks this row, so two sealers never fork the chain; ``mac`` (keyed with the
    chain key) lets verification notice rows cut off the end of the chain.
    """

    seq = models.BigIntegerField(_("链序号"), default=0)
    hash = models.CharField(_("哈希"), max_length=64, default="0" * 64)
    sealed_at = models.DateTimeField(_("封存时间"), null=True, blank=True)
    mac = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("审计链头")
        verbose_name_plural = _("审计链头")

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


class AuditCheckpoint(models.Model):
    """Left by a purge: the place and hash of the last purged row, so the rest still verifies."""

    at = models.DateTimeField(_("时间"), default=timezone.now)
    seq = models.BigIntegerField(_("链序号"), unique=True)
    hash = models.CharField(_("哈希"), max_length=64)
    purged_before = models.DateTimeField(_("清理截止时间"))
    purged_rows = models.BigIntegerField(_("清理条数"))
    actor_name = models.CharField(_("操作人名称"), max_length=150, blank=True)
    mac = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("审计清理检查点")
        verbose_name_plural = _("审计清理检查点")
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.purged_before:%Y-%m-%d} ({self.purged_rows})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit checkpoints are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit checkpoints are append-only")


class CalendarDay(models.Model):
    """One day of the working calendar. A year is covered when it has rows; see core.calendar."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("工作日"))
    name = models.CharField(_("说明"), max_length=64, blank=True, help_text=_("如：国庆节、调休上班"))
    source = models.CharField(
        _("来源"), max_length=16, default="admin",
        choices=[("chinesecalendar", "chinesecalendar"), ("weekday", _("按周一至周五生成")), ("admin", _("管理员"))],
    )

    class Meta:
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")
        ordering = ["date"]

    def __str__(self) -> str:
        kind = _("工作日") if self.is_workday else _("休息日")
        return f"{self.date} {kind} {self.name}".strip()


class OfficePeriod(models.Model):
    """A span of office hours on a working day (e.g. 08:30–12:00 and 14:00–18:00)."""

    start = models.TimeField(_("开始"))
    end = models.TimeField(_("结束"))

    class Meta:
        verbose_name = _("办公时段")
        verbose_name_plural = _("办公时段")
        ordering = ["start"]
        constraints = [models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="office_period_end_after_start")]

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


class ApiToken(models.Model):
    """A personal API token: stored as a SHA-256 hash, scoped, revocable, optionally expiring.

    The clear text is shown once, at creation (see orgs.services.create_api_token).
    """

    class Scope(models.TextChoices):
        READ = "read", _("只读")
        WRITE = "write", _("读写")

    PREFIX = "gz_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(_("前缀"), max_length=12, help_text=_("用于辨认令牌，不足以使用它"))
    digest = models.CharField(max_length=64, unique=True)
    scope = models.CharField(_("权限范围"), max_length=8, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    @classmethod
    def generate(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    def expiry(self):
        """When the token stops working: ``expires_at``, or, for a token made without one (before
        tokens had to expire), ``API_TOKEN_MAX_DAYS`` after its creation."""
        if self.expires_at is not None:
            return self.expires_at
        return self.created_at + datetime.timedelta(days=settings.API_TOKEN_MAX_DAYS)

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expiry() > now


class RateCounter(models.Model):
    """One fixed-window request counter per rate-limit bucket (see gongzhi.core.ratelimit).

    A single ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` counts a request and starts a new
    window when the stored one has passed, so every process on every host shares the same count.
    """

    bucket = models.CharField(max_length=120, primary_key=True)
    window_start = models.BigIntegerField(db_index=True)  # Unix seconds
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("限流计数")
        verbose_name_plural = _("限流计数")

    def __str__(self) -> str:
        return f"{self.bucket}: {self.hits}"

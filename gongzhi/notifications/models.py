"""What people and outside systems are told about cases: an in-app inbox per user, and signed
outgoing webhooks (for SMS or messaging gateways) with their delivery attempts.

Rows are written right after a case transaction commits (``services.fan_out``); email and webhooks
are sent by the worker. Deliveries are columns, not timers (ARCHITECTURE pattern 4): a pending
delivery carries ``next_attempt_at``, and whichever worker claims it first sends it.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user) -> NotificationQuerySet:
        """The user's own notifications (nobody reads another person's inbox, not even an admin)."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(user=user)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)

    def inbox_order(self) -> NotificationQuerySet:
        """Unread first, then newest first."""
        return self.order_by(models.F("read_at").asc(nulls_first=True), "-created_at", "-id")


class Notification(models.Model):
    """One message in one person's inbox, usually about one case event."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE,
                             related_name="notifications")
    case = models.ForeignKey("cases.Case", verbose_name=_("案件"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    event = models.ForeignKey("cases.CaseEvent", verbose_name=_("案件过程"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(_("类型"), max_length=32)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("邮件发送时间"), null=True, blank=True, editable=False)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("站内消息")
        verbose_name_plural = _("站内消息")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_created"),
            models.Index(fields=["user"], name="notification_user_unread", condition=Q(read_at__isnull=True)),
        ]
        constraints = [
            # The fan-out may run twice for one event (a retried hook): each person hears once.
            models.UniqueConstraint(fields=["user", "event"], condition=Q(event__isnull=False),
                                    name="notification_once_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


def new_secret() -> str:
    """A fresh signing secret (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """An outside system (an SMS or messaging gateway) that receives signed POSTs about case events.

    Each POST carries ``X-Gongzhi-Signature: sha256=<HMAC-SHA256 of the body with the secret>``.
    """

    name = models.CharField(_("名称"), max_length=100, unique=True)
    url = models.URLField(_("地址"), max_length=500)
    secret = models.CharField(_("签名密钥"), max_length=200, blank=True, default=new_secret,
                              help_text=_("用于 HMAC-SHA256 签名，请同时配置到接收端；留空则自动生成"))
    event_kinds = models.JSONField(_("事件类型"), default=list, blank=True,
                                   help_text=_('如 ["dispatch", "overdue", "escalate"]；留空表示全部'))
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("Webhook 接收端")
        verbose_name_plural = _("Webhook 接收端")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not (self.secret or "").strip():
            self.secret = new_secret()  # never sign with an empty key
        super().save(*args, **kwargs)

    def clean(self) -> None:
        kinds = self.event_kinds
        if kinds in (None, ""):
            self.event_kinds = []
        elif not isinstance(kinds, list) or not all(isinstance(k, str) and k.strip() for k in kinds):
            raise ValidationError({"event_kinds": [_("请填写事件类型的列表，如 [\"dispatch\"]")]})
        if not (self.secret or "").strip():
            self.secret = new_secret()
        if self.url and not self.url.lower().startswith(("http://", "https://")):
            raise ValidationError({"url": [_("只支持 http 或 https 地址")]})

    def wants(self, kind: str) -> bool:
        """Whether this endpoint subscribes to events of ``kind`` (an empty list means all)."""
        return self.is_active and (not self.event_kinds or kind in self.event_kinds)


class WebhookDelivery(models.Model):
    """One POST to one endpoint, and its attempts (retried with backoff, then failed).

    A case event makes one delivery per subscribed endpoint, whose payload lists every person the
    event notifies (with phone and email, for an SMS or mail gateway). ``notification`` is for a
    message that is not about a case event.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        DELIVERED = "delivered", _("已送达")
        FAILED = "failed", _("失败")

    endpoint = models.ForeignKey(WebhookEndpoint, verbose_name=_("接收端"), on_delete=models.CASCADE,
                                 related_name="deliveries")
    notification = models.ForeignKey(Notification, verbose_name=_("站内消息"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="deliveries")
    event_id = models.BigIntegerField(_("案件过程编号"), null=True, blank=True)
    kind = models.CharField(_("事件类型"), max_length=32)
    payload = models.JSONField(_("内容"), default=dict)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    last_error = models.TextField(_("最近错误"), blank=True)
    response_status = models.PositiveSmallIntegerField(_("响应状态码"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("Webhook 投递")
        verbose_name_plural = _("Webhook 投递")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due",
                         condition=Q(status="pending")),
        ]
        constraints = [
            # One POST per endpoint and case event, however often the fan-out runs.
            models.UniqueConstraint(fields=["endpoint", "event_id"], condition=Q(event_id__isnull=False),
                                    name="webhook_delivery_once_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} · {self.kind} #{self.pk}"

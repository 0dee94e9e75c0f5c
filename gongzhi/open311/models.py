"""Open311 GeoReport v2 (docs/api.md): the client applications that hold a key, the link between a
case and the client that submitted it (its token for batch clients, the contact details the spec
lets a client send, which are never published), and the updates a department's own system posted."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiClient(models.Model):
    """A client application with an Open311 ``api_key`` (a city app, a hotline system, a
    department's own case system). The key is stored as a SHA-256 hash only; the clear text is
    shown once when an admin issues it (``services.issue_client`` / ``issue_key``).

    ``user`` is the client's system account (no password, can't log in): reports the client posts
    are filed under it, so the idempotency key of a retried report is per client. A client with a
    ``department`` may post updates on the cases dispatched to that department; its system account
    is on the department's staff so the transitions go through the same permission checks as a
    person's.
    """

    KEY_PREFIX = "o311_"

    name = models.CharField(_("名称"), max_length=100, unique=True)
    contact = models.CharField(_("联系人"), max_length=200, blank=True, help_text=_("对接单位、联系人与电话"))
    department = models.ForeignKey("orgs.Department", verbose_name=_("部门"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   help_text=_("填写后，该密钥可回报派遣给本部门的案件的办理进展"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("系统账号"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+", editable=False)
    batch = models.BooleanField(_("批量模式"), default=False,
                                help_text=_("提交后返回 token 而不是案件编号（Open311 batch 服务）"))
    rate_limit = models.CharField(_("频率限制"), max_length=20, default="600/m",
                                  help_text=_("如 600/m（每分钟 600 次）；0 表示不限"))
    key_prefix = models.CharField(_("密钥前缀"), max_length=16, editable=False,
                                  help_text=_("用于辨认密钥，不足以使用它"))
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 客户端")
        verbose_name_plural = _("Open311 客户端")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    @classmethod
    def generate(cls) -> str:
        return cls.KEY_PREFIX + secrets.token_urlsafe(32)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class SubmittedRequest(models.Model):
    """A case that came in through Open311: which client sent it, its token (``GET tokens/{token}``)
    and what the client said about the person (private: stored for the command center, never
    published)."""

    case = models.OneToOneField("cases.Case", verbose_name=_("案件"), on_delete=models.CASCADE,
                                related_name="open311")
    client = models.ForeignKey(ApiClient, verbose_name=_("客户端"), on_delete=models.PROTECT, related_name="requests")
    token = models.CharField(_("token"), max_length=40, unique=True)
    email = models.CharField(_("电子邮箱"), max_length=254, blank=True)
    account_id = models.CharField(_("账号"), max_length=100, blank=True)
    device_id = models.CharField(_("设备"), max_length=100, blank=True)
    media_url = models.CharField(_("媒体链接"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)

    class Meta:
        verbose_name = _("Open311 提交")
        verbose_name_plural = _("Open311 提交")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id} ← {self.client_id}"


class ReceivedUpdate(models.Model):
    """An update a department's system posted (``POST servicerequestupdates``): kept per client and
    ``update_id``, so a resent update answers with the first result and moves nothing twice."""

    client = models.ForeignKey(ApiClient, verbose_name=_("客户端"), on_delete=models.PROTECT, related_name="updates")
    case = models.ForeignKey("cases.Case", verbose_name=_("案件"), on_delete=models.CASCADE, related_name="+")
    update_id = models.CharField(_("对方更新编号"), max_length=100)
    status = models.CharField(_("状态"), max_length=40)
    description = models.TextField(_("说明"), blank=True)
    updated_datetime = models.DateTimeField(_("对方更新时间"), null=True, blank=True)
    event = models.ForeignKey("cases.CaseEvent", verbose_name=_("案件过程"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(_("接收时间"), default=timezone.now)

    class Meta:
        verbose_name = _("Open311 部门回报")
        verbose_name_plural = _("Open311 部门回报")
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["client", "update_id"], name="open311_update_unique")]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.update_id} {self.status}"

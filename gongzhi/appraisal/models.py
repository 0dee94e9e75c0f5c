"""Multi-party evaluation (双向共评, DOMAIN.md S8, seed 003).

Two things:

- **Scoring sheets** (``Project``): a finished project or initiative is scored item by item (each
  with a maximum) by several kinds of party — leaders, deputies (代表), party members, residents —
  each party with a weight. One sheet per person per project; the weighted total is computed with
  exact fractions (``scoring.py``) and documented in docs/appraisal.md.
- **Selections** (``Selection``, e.g. 最美家庭): nominate with reasons → vote within a window (one
  vote per person per selection) → publish the result with a publicity period (公示期).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Party(models.TextChoices):
    LEADER = "leader", _("领导")
    DEPUTY = "deputy", _("代表委员")
    PARTY_MEMBER = "party_member", _("党员")
    RESIDENT = "resident", _("居民")


class ScopedQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The read door: what concerns an area is seen by everyone who sees that area, by the
        organiser, and — once open to residents — by every logged-in person (a community notice
        board: residents hold no role and see no area)."""
        from gongzhi.areas.models import Area
        from gongzhi.core.scoping import jurisdiction

        if not getattr(user, "is_authenticated", False):
            return self.none()
        scope = jurisdiction(user)
        if scope.everything:
            return self.all()
        q = Q(created_by=user) | ~Q(status="draft") & Q(public=True)
        if scope.paths:
            q |= Q(area__in=Area.objects.under_paths(scope.paths).values("pk"))
        q |= self.model.extra_visibility(user)
        # a subquery, not a join: several evaluators must not repeat a project
        return self.filter(pk__in=self.model.objects.filter(q).values("pk"))


class Project(models.Model):
    """A project or initiative to be scored (e.g. 沙市花园地下室改建). ``public``: residents may score."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("准备中")
        OPEN = "open", _("评分中")
        CLOSED = "closed", _("已结束")

    title = models.CharField(_("项目名称"), max_length=120)
    description = models.TextField(_("项目说明"), blank=True)
    area = models.ForeignKey("areas.Area", verbose_name=_("所属区域"), on_delete=models.CASCADE,
                             related_name="appraisal_projects")
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.DRAFT)
    public = models.BooleanField(_("居民可评"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("组织人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("共评项目")
        verbose_name_plural = _("共评项目")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    @staticmethod
    def extra_visibility(user) -> Q:
        return Q(evaluators__user=user)


class Item(models.Model):
    """One line of the scoring sheet, with its maximum score."""

    project = models.ForeignKey(Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="items")
    order = models.PositiveSmallIntegerField(_("序号"), default=0)
    name = models.CharField(_("评分项"), max_length=120)
    max_score = models.DecimalField(_("满分"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("评分项")
        verbose_name_plural = _("评分项")
        ordering = ["order", "pk"]
        constraints = [models.CheckConstraint(condition=Q(max_score__gt=0), name="appraisal_item_max_positive")]

    def __str__(self) -> str:
        return self.name


class PartyWeight(models.Model):
    """How much one kind of party counts in the project's weighted total."""

    project = models.ForeignKey(Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="weights")
    party = models.CharField(_("评议方"), max_length=16, choices=Party.choices)
    weight = models.DecimalField(_("权重"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("评议方权重")
        verbose_name_plural = _("评议方权重")
        constraints = [models.UniqueConstraint(fields=["project", "party"], name="appraisal_weight_unique")]

    def __str__(self) -> str:
        return f"{self.get_party_display()} {self.weight}"


class Evaluator(models.Model):
    """A person invited to score a project as one party (leaders, deputies, party members). Residents
    of a public project need no invitation."""

    project = models.ForeignKey(Project, verbose_name=_("项目"), on_delete=models.CASCADE,
                                related_name="evaluators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("评议人"), on_delete=models.CASCADE,
                             related_name="+")
    party = models.CharField(_("评议方"), max_length=16, choices=Party.choices)

    class Meta:
        verbose_name = _("受邀评议人")
        verbose_name_plural = _("受邀评议人")
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="appraisal_evaluator_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_party_display()}"


class Sheet(models.Model):
    """One person's filled-in sheet for a project (one per person per project)."""

    project = models.ForeignKey(Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="sheets")
    scorer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("评议人"), null=True,
                               on_delete=models.SET_NULL, related_name="+")
    scorer_name = models.CharField(_("评议人"), max_length=64)
    party = models.CharField(_("评议方"), max_length=16, choices=Party.choices)
    total = models.DecimalField(_("合计"), max_digits=8, decimal_places=2)
    comment = models.TextField(_("意见建议"), blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)

    class Meta:
        verbose_name = _("评分表")
        verbose_name_plural = _("评分表")
        ordering = ["submitted_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["project", "scorer"], name="appraisal_one_sheet_per_person")]

    def __str__(self) -> str:
        return f"{self.project} · {self.scorer_name}"


class Score(models.Model):
    sheet = models.ForeignKey(Sheet, verbose_name=_("评分表"), on_delete=models.CASCADE, related_name="scores")
    item = models.ForeignKey(Item, verbose_name=_("评分项"), on_delete=models.CASCADE, related_name="+")
    score = models.DecimalField(_("得分"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("得分")
        verbose_name_plural = _("得分")
        constraints = [models.UniqueConstraint(fields=["sheet", "item"], name="appraisal_score_unique")]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.score}"


class Selection(models.Model):
    """A "best family" style selection (最美家庭评选): nominate → vote → publish with a publicity period."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("准备中")
        NOMINATING = "nominating", _("推荐中")
        VOTING = "voting", _("投票中")
        PUBLISHED = "published", _("结果公示")

    title = models.CharField(_("评选名称"), max_length=120)
    description = models.TextField(_("评选说明"), blank=True)
    area = models.ForeignKey("areas.Area", verbose_name=_("所属区域"), on_delete=models.CASCADE,
                             related_name="selections")
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.NOMINATING)
    public = models.BooleanField(_("居民可参与"), default=True)
    winners = models.PositiveSmallIntegerField(_("评选名额"), default=1)
    vote_opens_at = models.DateTimeField(_("投票开始"), null=True, blank=True)
    vote_closes_at = models.DateTimeField(_("投票截止"), null=True, blank=True)
    publicity_days = models.PositiveSmallIntegerField(_("公示天数"), default=7)
    published_at = models.DateTimeField(_("公布时间"), null=True, blank=True)
    publicity_ends_at = models.DateTimeField(_("公示截止"), null=True, blank=True)
    result = models.JSONField(_("评选结果"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("组织人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("评选活动")
        verbose_name_plural = _("评选活动")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    @staticmethod
    def extra_visibility(user) -> Q:
        return Q(pk__in=[])

    def voting_open(self, now=None) -> bool:
        now = now or timezone.now()
        return (self.status == self.Status.VOTING and self.vote_opens_at is not None
                and self.vote_opens_at <= now < self.vote_closes_at)


class Nomination(models.Model):
    """A nominee (a family, a person) with the reasons given."""

    selection = models.ForeignKey(Selection, verbose_name=_("评选活动"), on_delete=models.CASCADE,
                                  related_name="nominations")
    name = models.CharField(_("被推荐对象"), max_length=100)
    reasons = models.TextField(_("推荐理由"))
    nominated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("推荐人"), null=True,
                                     on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("推荐时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("推荐")
        verbose_name_plural = _("推荐")
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["selection", "name"], name="appraisal_nomination_unique")]

    def __str__(self) -> str:
        return self.name


class Vote(models.Model):
    """One person's vote in a selection (one per person per selection)."""

    selection = models.ForeignKey(Selection, verbose_name=_("评选活动"), on_delete=models.CASCADE,
                                  related_name="votes")
    nomination = models.ForeignKey(Nomination, verbose_name=_("推荐对象"), on_delete=models.CASCADE,
                                   related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("投票人"), on_delete=models.CASCADE,
                              related_name="+")
    at = models.DateTimeField(_("投票时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("投票")
        verbose_name_plural = _("投票")
        constraints = [models.UniqueConstraint(fields=["selection", "voter"], name="appraisal_one_vote_per_person")]

    def __str__(self) -> str:
        return f"{self.selection_id} · {self.nomination_id}"

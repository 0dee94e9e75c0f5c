"""共商共决 — co-decision (issue 10): voter rolls, decisions whose questions carry their rule as data,
ballots (online, paper with double entry, door to door; optionally secret), results and publicity
(公示) with objections, the 四议三公开 procedure, recurring meetings, cost sharing (三个分担) and the
implementation of what was decided. docs/deliberation.md tells the whole story.

The arithmetic lives in ``rules`` (a rule is a JSON tree evaluated with ``fractions.Fraction``) and
``tally`` (the figures a rule needs, summed by the database). Every write goes through
``services`` (and its siblings) and leaves an audit row (``deliberation.*``).

Frozen means frozen: when a decision opens, its electors are copied from the roll into
``Elector`` rows; later edits of the roll change nothing in a running or closed vote.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

AREA_DIGITS = dict(max_digits=12, decimal_places=2)
MONEY_DIGITS = dict(max_digits=14, decimal_places=2)

# ------------------------------------------------------------------------------------ voter rolls


class VoterRoll(models.Model):
    """The people who may decide in an area: an estate's owners, a village's households and
    villagers, or a body of representatives. Imported from xlsx (``rolls.import_roll``)."""

    class Kind(models.TextChoices):
        OWNERS = "owners", _("业主名册")
        VILLAGERS = "villagers", _("村民名册")
        REPRESENTATIVES = "representatives", _("代表名册")

    area = models.ForeignKey("areas.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT,
                             related_name="voter_rolls")
    name = models.CharField(_("名册名称"), max_length=120)
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices, default=Kind.OWNERS)
    note = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("表决名册")
        verbose_name_plural = _("表决名册")
        ordering = ["area", "name"]

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    """A household or a property unit (专有部分) of a roll: its code (楼栋-单元-室), building and
    floor area. Owners and household members are ``Member`` rows."""

    roll = models.ForeignKey(VoterRoll, verbose_name=_("名册"), on_delete=models.CASCADE, related_name="units")
    code = models.CharField(_("房号/户号"), max_length=64)
    building = models.CharField(_("楼栋"), max_length=64, blank=True)
    floor_area = models.DecimalField(_("建筑面积（㎡）"), default=0, **AREA_DIGITS)

    class Meta:
        verbose_name = _("户/房屋")
        verbose_name_plural = _("户/房屋")
        ordering = ["roll", "building", "code"]
        constraints = [models.UniqueConstraint(fields=["roll", "code"], name="deliberation_unit_code")]

    def __str__(self) -> str:
        return self.code


class Member(models.Model):
    """An owner of a unit or a member of a household. ``owner_key`` groups the units of one owner
    (the same buyer of several units counts as one owner by headcount); ``proxy_name`` is the person
    who votes for them with a written proxy."""

    roll = models.ForeignKey(VoterRoll, verbose_name=_("名册"), on_delete=models.CASCADE, related_name="members")
    unit = models.ForeignKey(Unit, verbose_name=_("户/房屋"), on_delete=models.CASCADE, related_name="members")
    name = models.CharField(_("姓名"), max_length=64)
    phone = models.CharField(_("手机号码"), max_length=11, blank=True)
    owner_key = models.CharField(_("业主标识"), max_length=64, blank=True,
                                 help_text=_("同一业主拥有多套房屋时填写相同标识；留空按姓名与手机号识别"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("平台账号"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="roll_memberships")
    is_adult = models.BooleanField(_("年满十八周岁"), default=True)
    is_head = models.BooleanField(_("户代表"), default=False)
    is_representative = models.BooleanField(_("代表（村民代表/业主代表）"), default=False)
    proxy_name = models.CharField(_("委托代理人"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("成员")
        verbose_name_plural = _("成员")
        ordering = ["unit", "-is_head", "name"]
        indexes = [models.Index(fields=["roll", "phone"], name="deliberation_member_phone")]

    def __str__(self) -> str:
        return self.name


# ------------------------------------------------------------------------------------ decisions


class Decision(models.Model):
    """A matter put to a vote: one or more questions, each with its rule, on a roll frozen at opening.

    ``ballot_unit`` says who casts one ballot: each owner (units of one owner together, Civil Code
    judicial interpretation art. 9), each household, each adult member, or each representative."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        OPEN = "open", _("表决中")
        CLOSED = "closed", _("已计票")
        PUBLISHED = "published", _("已公示")
        CANCELLED = "cancelled", _("已撤销")

    class BallotUnit(models.TextChoices):
        OWNER = "owner", _("每位业主一票")
        HOUSEHOLD = "household", _("每户一票")
        PERSON = "person", _("每人一票")
        REPRESENTATIVE = "representative", _("每位代表一票")

    area = models.ForeignKey("areas.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT,
                             related_name="decisions")
    roll = models.ForeignKey(VoterRoll, verbose_name=_("表决名册"), on_delete=models.PROTECT, related_name="decisions")
    title = models.CharField(_("表决事项"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    ballot_unit = models.CharField(_("投票单位"), max_length=20, choices=BallotUnit.choices, default=BallotUnit.OWNER)
    secret = models.BooleanField(_("无记名投票"), default=False,
                                 help_text=_("谁投了票与投了什么分开存放：表决意见不记选民，只留下计票所需的楼栋和面积"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    opens_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    closes_at = models.DateTimeField(_("截止时间"), null=True, blank=True, db_index=True)
    opened_at = models.DateTimeField(_("实际开始"), null=True, blank=True)
    closed_at = models.DateTimeField(_("实际截止"), null=True, blank=True)
    meeting = models.ForeignKey("Meeting", verbose_name=_("会议"), null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="decisions")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("表决")
        verbose_name_plural = _("表决")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class Electorate(models.Model):
    """A body of electors a rule can refer to by ``key``: the whole roll (``buildings`` empty) or
    some buildings of it (adding an elevator: the estate and the building)."""

    decision = models.ForeignKey(Decision, verbose_name=_("表决"), on_delete=models.CASCADE,
                                 related_name="electorates")
    key = models.SlugField(_("标识"), max_length=32)
    name = models.CharField(_("名称"), max_length=80)
    buildings = models.JSONField(_("楼栋"), default=list, blank=True, help_text=_("留空表示整个名册"))

    class Meta:
        verbose_name = _("表决范围")
        verbose_name_plural = _("表决范围")
        constraints = [models.UniqueConstraint(fields=["decision", "key"], name="deliberation_electorate_key")]

    def __str__(self) -> str:
        return self.name


class Question(models.Model):
    """One question of a decision and its rule (a JSON tree, see ``rules``). ``requires``: this
    question passes only if that one did too (两个2/3: the plan counts only if the renovation passed)."""

    decision = models.ForeignKey(Decision, verbose_name=_("表决"), on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("序号"), default=1)
    text = models.CharField(_("表决内容"), max_length=300)
    preset = models.CharField(_("规则模板"), max_length=40, blank=True)
    rule = models.JSONField(_("通过规则"))
    rule_text = models.TextField(_("规则说明"), blank=True)
    requires = models.ForeignKey("self", verbose_name=_("前提事项"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("表决事项")
        verbose_name_plural = _("表决事项")
        ordering = ["decision", "position"]
        constraints = [models.UniqueConstraint(fields=["decision", "position"], name="deliberation_question_pos")]

    def __str__(self) -> str:
        return self.text


class Elector(models.Model):
    """One voter of a decision as its ballot unit defines, frozen from the roll when it opened, with
    the weights every measure needs: persons (headcount), households, floor area, representatives."""

    decision = models.ForeignKey(Decision, verbose_name=_("表决"), on_delete=models.CASCADE, related_name="electors")
    key = models.CharField(_("选民标识"), max_length=80)
    label = models.CharField(_("名称"), max_length=200)
    unit_codes = models.CharField(_("房号/户号"), max_length=400, blank=True)
    building = models.CharField(_("楼栋"), max_length=64, blank=True, db_index=True)
    phone = models.CharField(_("手机号码"), max_length=11, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("平台账号"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    persons = models.PositiveIntegerField(_("人数"), default=1)
    households = models.PositiveIntegerField(_("户数"), default=1)
    floor_area = models.DecimalField(_("建筑面积（㎡）"), default=0, **AREA_DIGITS)
    representatives = models.PositiveIntegerField(_("代表数"), default=0)

    class Meta:
        verbose_name = _("选民")
        verbose_name_plural = _("选民")
        ordering = ["decision", "key"]
        constraints = [models.UniqueConstraint(fields=["decision", "key"], name="deliberation_elector_key")]
        indexes = [models.Index(fields=["decision", "user"], name="deliberation_elector_user")]

    def __str__(self) -> str:
        return self.label


class Participation(models.Model):
    """Who took part (cast a ballot, by any channel) or attended — never how they voted. One per
    elector and decision: the database refuses a second ballot."""

    class Channel(models.TextChoices):
        ONLINE = "online", _("线上")
        PAPER = "paper", _("书面")
        DOOR = "door", _("入户")
        MEETING = "meeting", _("会议现场")

    decision = models.ForeignKey(Decision, verbose_name=_("表决"), on_delete=models.CASCADE,
                                 related_name="participations")
    elector = models.ForeignKey(Elector, verbose_name=_("选民"), on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(_("方式"), max_length=10, choices=Channel.choices)
    attended = models.BooleanField(_("到会"), default=False)
    voted = models.BooleanField(_("已投票"), default=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("录入人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("参与记录")
        verbose_name_plural = _("参与记录")
        constraints = [models.UniqueConstraint(fields=["decision", "elector"], name="deliberation_one_ballot")]

    def __str__(self) -> str:
        return f"{self.decision_id}:{self.elector_id}"


class Vote(models.Model):
    """How one ballot answered one question, with the elector's weights copied so that the tally is
    one grouped sum. In a secret decision ``elector`` is empty (only the building stays, for
    building-level electorates), and nothing else links a vote to a participation: no time, and a
    random primary key, so that ids do not follow the participations' order."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    class Choice(models.TextChoices):
        FOR = "for", _("同意")
        AGAINST = "against", _("反对")
        ABSTAIN = "abstain", _("弃权")

    question = models.ForeignKey(Question, verbose_name=_("表决事项"), on_delete=models.CASCADE, related_name="votes")
    elector = models.ForeignKey(Elector, verbose_name=_("选民"), null=True, blank=True, on_delete=models.CASCADE,
                                related_name="votes")
    choice = models.CharField(_("意见"), max_length=8, choices=Choice.choices)
    building = models.CharField(_("楼栋"), max_length=64, blank=True)
    persons = models.PositiveIntegerField(default=1)
    households = models.PositiveIntegerField(default=1)
    floor_area = models.DecimalField(default=0, **AREA_DIGITS)
    representatives = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("表决意见")
        verbose_name_plural = _("表决意见")
        indexes = [models.Index(fields=["question", "choice"], name="deliberation_vote_q_choice")]
        constraints = [models.UniqueConstraint(fields=["question", "elector"], name="deliberation_vote_once",
                                               condition=models.Q(elector__isnull=False))]

    def __str__(self) -> str:
        return f"{self.question_id}:{self.choice}"


class PaperEntry(models.Model):
    """A paper or door-to-door ballot as typed in by one member of staff. Two entries by two
    different people that agree record the ballot; entries that disagree are flagged. In a secret
    decision a paper ballot names no elector: the two entries pair by the ballot's serial number, and
    who took a ballot is recorded apart (``Participation``, from the sign-in sheet)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待复核录入")
        MATCHED = "matched", _("两次录入一致，已计入")
        MISMATCH = "mismatch", _("两次录入不一致")
        VOID = "void", _("作废")

    decision = models.ForeignKey(Decision, verbose_name=_("表决"), on_delete=models.CASCADE,
                                 related_name="paper_entries")
    elector = models.ForeignKey(Elector, verbose_name=_("选民"), null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+", help_text=_("无记名表决的选票不记选民，按选票编号对应两次录入"))
    channel = models.CharField(_("方式"), max_length=10, choices=Participation.Channel.choices,
                               default=Participation.Channel.PAPER)
    serial = models.CharField(_("选票编号"), max_length=40, blank=True)
    choices = models.JSONField(_("意见"), help_text=_("{表决事项序号: 同意/反对/弃权}"))
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT,
                                   related_name="+")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("书面选票录入")
        verbose_name_plural = _("书面选票录入")
        ordering = ["decision", "elector", "at"]
        constraints = [
            # A voided typing (a mismatch set aside) does not count: the same clerks type the ballot again.
            models.UniqueConstraint(fields=["decision", "elector", "entered_by"], name="deliberation_paper_once_per_clerk",
                                    condition=models.Q(elector__isnull=False) & ~models.Q(status="void")),
            models.UniqueConstraint(fields=["decision", "serial", "entered_by"], name="deliberation_paper_serial_once",
                                    condition=~models.Q(serial="") & ~models.Q(status="void")),
        ]

    def __str__(self) -> str:
        return f"{self.decision_id}:{self.elector_id}:{self.entered_by_id}"


class Result(models.Model):
    """A question's result as computed at closing: passed or not, the figures, and the rule and its
    text as they were — enough to check the arithmetic years later."""

    question = models.OneToOneField(Question, verbose_name=_("表决事项"), on_delete=models.CASCADE,
                                    related_name="result")
    passed = models.BooleanField(_("通过"))
    figures = models.JSONField(_("计票数据"))
    rule = models.JSONField(_("通过规则"))
    rule_text = models.TextField(_("规则说明"))
    explanation = models.JSONField(_("逐项判断"), default=list)
    computed_at = models.DateTimeField(_("计票时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("表决结果")
        verbose_name_plural = _("表决结果")

    def __str__(self) -> str:
        return f"{self.question_id}:{'✓' if self.passed else '✗'}"


# ------------------------------------------------------------------------------------ publicity


class Publication(models.Model):
    """A 公示: what was published, where, for how long, and the SHA-256 of its content. It belongs to
    a decision (its result), a procedure (the three publications) or a project (the implementation
    result). Published content is never edited: a correction is a new publication."""

    class Kind(models.TextChoices):
        TOPIC = "topic", _("议题公开")
        RESULT = "result", _("表决结果公示")
        DECISION = "decision", _("决议公开")
        IMPLEMENTATION = "implementation", _("实施结果公开")
        STATEMENT = "statement", _("费用分摊公示")

    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices)
    area = models.ForeignKey("areas.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT,
                             related_name="+")
    decision = models.ForeignKey(Decision, verbose_name=_("表决"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="publications")
    procedure = models.ForeignKey("Procedure", verbose_name=_("四议三公开"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="publications")
    project = models.ForeignKey("Project", verbose_name=_("项目"), null=True, blank=True, on_delete=models.PROTECT,
                                related_name="publications")
    title = models.CharField(_("标题"), max_length=200)
    content = models.TextField(_("内容"))
    content_hash = models.CharField(_("内容哈希（SHA-256）"), max_length=64)
    channel = models.CharField(_("公示渠道"), max_length=200, help_text=_("如：小区公告栏、平台公告"))
    starts_on = models.DateField(_("公示开始"))
    ends_on = models.DateField(_("公示结束"))
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发布人"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(_("发布时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("公示")
        verbose_name_plural = _("公示")
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return self.title


class Objection(models.Model):
    """An objection raised during a publication period, and its answer."""

    publication = models.ForeignKey(Publication, verbose_name=_("公示"), on_delete=models.PROTECT,
                                    related_name="objections")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("提出人"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    raised_by_name = models.CharField(_("提出人姓名"), max_length=64, blank=True)
    text = models.TextField(_("异议内容"))
    raised_at = models.DateTimeField(_("提出时间"), auto_now_add=True)
    answer = models.TextField(_("答复"), blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("答复人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("异议")
        verbose_name_plural = _("异议")
        ordering = ["raised_at"]

    def __str__(self) -> str:
        return self.text[:40]


# ------------------------------------------------------------------------------------ 四议三公开


class Procedure(models.Model):
    """A village matter through 四议 (four deliberations, ``Stage`` rows in order) and 三公开 (the
    topic, decision and implementation-result publications)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("进行中")
        DECIDED = "decided", _("已决议")
        REJECTED = "rejected", _("未通过")
        IMPLEMENTED = "implemented", _("已实施")

    area = models.ForeignKey("areas.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT,
                             related_name="procedures")
    title = models.CharField(_("议题"), max_length=200)
    description = models.TextField(_("议题内容"), blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.RUNNING)
    decision = models.ForeignKey(Decision, verbose_name=_("表决"), null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="procedures")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("四议三公开")
        verbose_name_plural = _("四议三公开")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class Stage(models.Model):
    """One of the four deliberations, with its attendance and approval rule (a ``rules`` tree over
    the stage's figures: eligible, present, for) and what happened."""

    class Kind(models.TextChoices):
        PROPOSAL = "proposal", _("村党组织提议")
        COMMITTEES = "committees", _("村两委会商议")
        PARTY_MEMBERS = "party_members", _("党员大会审议")
        VILLAGERS = "villagers", _("村民（代表）会议决议")

    procedure = models.ForeignKey(Procedure, verbose_name=_("四议三公开"), on_delete=models.CASCADE,
                                  related_name="stages")
    kind = models.CharField(_("环节"), max_length=16, choices=Kind.choices)
    position = models.PositiveSmallIntegerField(_("顺序"))
    rule = models.JSONField(_("到会与通过规则"))
    rule_text = models.TextField(_("规则说明"), blank=True)
    held_on = models.DateField(_("召开日期"), null=True, blank=True)
    eligible = models.PositiveIntegerField(_("应到人数"), null=True, blank=True)
    present = models.PositiveIntegerField(_("实到人数"), null=True, blank=True)
    votes_for = models.PositiveIntegerField(_("同意人数"), null=True, blank=True)
    votes_against = models.PositiveIntegerField(_("反对人数"), null=True, blank=True)
    passed = models.BooleanField(_("通过"), null=True)
    explanation = models.JSONField(_("逐项判断"), default=list, blank=True)
    minutes = models.TextField(_("会议记录"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("记录人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("记录时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("议事环节")
        verbose_name_plural = _("议事环节")
        ordering = ["procedure", "position"]
        constraints = [models.UniqueConstraint(fields=["procedure", "position"], name="deliberation_stage_pos")]

    def __str__(self) -> str:
        return self.get_kind_display()


class Attendee(models.Model):
    """One person on the attendance list of a stage or a meeting, present or not, with a signature."""

    stage = models.ForeignKey(Stage, verbose_name=_("议事环节"), null=True, blank=True, on_delete=models.CASCADE,
                              related_name="attendees")
    meeting = models.ForeignKey("Meeting", verbose_name=_("会议"), null=True, blank=True, on_delete=models.CASCADE,
                                related_name="attendees")
    name = models.CharField(_("姓名"), max_length=64)
    role = models.CharField(_("身份"), max_length=64, blank=True)
    present = models.BooleanField(_("到会"), default=True)
    signature = models.ImageField(_("签名"), upload_to="deliberation/signatures/%Y/%m/", blank=True)

    class Meta:
        verbose_name = _("参会人员")
        verbose_name_plural = _("参会人员")
        constraints = [models.CheckConstraint(
            condition=models.Q(stage__isnull=False, meeting__isnull=True)
            | models.Q(stage__isnull=True, meeting__isnull=False),
            name="deliberation_attendee_one_parent")]

    def __str__(self) -> str:
        return self.name


# ------------------------------------------------------------------------------------ meetings


class MeetingSeries(models.Model):
    """A recurring meeting an area must hold: opinion meetings every two months, the quarterly
    tripartite meeting, the annual owners' assembly. ``next_due`` moves on when one is held; the
    worker reminds ``remind_days`` before and raises an overdue alert after."""

    class Kind(models.TextChoices):
        OPINION = "opinion", _("居民意见征询会")
        TRIPARTITE = "tripartite", _("三方联席会议")
        ASSEMBLY = "assembly", _("业主大会")
        COMMITTEE = "committee", _("业委会会议")
        OTHER = "other", _("其他")

    area = models.ForeignKey("areas.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT,
                             related_name="meeting_series")
    kind = models.CharField(_("类别"), max_length=12, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=120)
    every_months = models.PositiveSmallIntegerField(_("周期（月）"))
    next_due = models.DateField(_("下次应召开"), db_index=True)
    remind_days = models.PositiveSmallIntegerField(_("提前提醒天数"), default=7)
    quorum = models.JSONField(_("法定人数规则"), null=True, blank=True)
    organiser = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("召集人"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    reminded_for = models.DateField(_("已提醒的日期"), null=True, blank=True)
    overdue_alerted_for = models.DateField(_("已发逾期提醒的日期"), null=True, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("例会制度")
        verbose_name_plural = _("例会制度")
        ordering = ["area", "next_due"]

    def __str__(self) -> str:
        return self.name


class Meeting(models.Model):
    """One meeting held (or planned): agenda, attendance and quorum, minutes; decisions link here."""

    series = models.ForeignKey(MeetingSeries, verbose_name=_("例会制度"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="meetings")
    area = models.ForeignKey("areas.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT,
                             related_name="deliberation_meetings")
    title = models.CharField(_("会议名称"), max_length=200)
    held_at = models.DateTimeField(_("召开时间"))
    place = models.CharField(_("地点"), max_length=200, blank=True)
    agenda = models.TextField(_("议程"), blank=True)
    minutes = models.TextField(_("会议纪要"), blank=True)
    eligible = models.PositiveIntegerField(_("应到人数"), null=True, blank=True)
    present = models.PositiveIntegerField(_("实到人数"), null=True, blank=True)
    quorate = models.BooleanField(_("达到法定人数"), null=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("记录人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("会议")
        verbose_name_plural = _("会议")
        ordering = ["-held_at"]

    def __str__(self) -> str:
        return self.title


# ------------------------------------------------------------------------------------ projects


class Project(models.Model):
    """What a decision set going: its cost shared three ways (三个分担) — policy funds, the committee's
    own income, and the benefiting owners (by floor area or equally) — and its progress."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("筹备中")
        UNDERWAY = "underway", _("实施中")
        DONE = "done", _("已完成")

    class Split(models.TextChoices):
        AREA = "area", _("按建筑面积分摊")
        EQUAL = "equal", _("按户均摊")

    area = models.ForeignKey("areas.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT,
                             related_name="deliberation_projects")
    decision = models.ForeignKey(Decision, verbose_name=_("表决"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="projects")
    procedure = models.ForeignKey(Procedure, verbose_name=_("四议三公开"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="projects")
    title = models.CharField(_("项目名称"), max_length=200)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    total_cost = models.DecimalField(_("总费用（元）"), default=0, **MONEY_DIGITS)
    policy_funds = models.DecimalField(_("政策资金（元）"), default=0, **MONEY_DIGITS)
    committee_funds = models.DecimalField(_("集体/公共收益（元）"), default=0, **MONEY_DIGITS)
    owners_share = models.DecimalField(_("受益业主分担（元）"), default=0, **MONEY_DIGITS)
    split = models.CharField(_("分摊方式"), max_length=8, choices=Split.choices, default=Split.AREA)
    buildings = models.JSONField(_("受益楼栋"), default=list, blank=True, help_text=_("留空表示整个名册"))
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("实施项目")
        verbose_name_plural = _("实施项目")
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(
            condition=models.Q(policy_funds__gte=0, committee_funds__gte=0, owners_share__gte=0),
            name="deliberation_project_shares_nonnegative")]

    def __str__(self) -> str:
        return self.title


class ShareStatement(models.Model):
    """One household's (unit's) share of a project's owners' part, computed by ``projects``."""

    project = models.ForeignKey(Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="statements")
    unit = models.ForeignKey(Unit, verbose_name=_("户/房屋"), on_delete=models.PROTECT, related_name="+")
    floor_area = models.DecimalField(_("建筑面积（㎡）"), **AREA_DIGITS)
    amount = models.DecimalField(_("应分摊（元）"), **MONEY_DIGITS)

    class Meta:
        verbose_name = _("分摊明细")
        verbose_name_plural = _("分摊明细")
        ordering = ["project", "unit"]
        constraints = [models.UniqueConstraint(fields=["project", "unit"], name="deliberation_statement_once")]

    def __str__(self) -> str:
        return f"{self.unit_id}: {self.amount}"


class ProjectUpdate(models.Model):
    """A progress update, with photos (``ProjectPhoto``)."""

    project = models.ForeignKey(Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="updates")
    note = models.TextField(_("进展情况"))
    progress = models.PositiveSmallIntegerField(_("进度（%）"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("填报人"), null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("项目进展")
        verbose_name_plural = _("项目进展")
        ordering = ["project", "-at"]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.progress}%"


class ProjectPhoto(models.Model):
    update = models.ForeignKey(ProjectUpdate, verbose_name=_("项目进展"), on_delete=models.CASCADE,
                               related_name="photos")
    image = models.ImageField(_("照片"), upload_to="deliberation/projects/%Y/%m/")

    class Meta:
        verbose_name = _("进展照片")
        verbose_name_plural = _("进展照片")

    def __str__(self) -> str:
        return self.image.name

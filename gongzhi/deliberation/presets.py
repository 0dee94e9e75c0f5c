"""Ready-made rules taken from the statutes' wording (``rules`` explains the JSON). An organiser picks
a preset when creating a decision and may still edit its rules: a city's own rules differ.

Readings (where the law leaves a choice, what we chose and why):

- **Civil Code art. 278** (业主共同决定): "应当由专有部分面积占比三分之二以上的业主且人数占比三分之二
  以上的业主参与表决" — participation ≥ 2/3 of the area AND ≥ 2/3 of the owners, both counted over
  *all* owners (base ``electorate``). Items 6–8 (筹集维修资金, 改建/重建, 改变共有部分用途或经营):
  "参与表决专有部分面积四分之三以上的业主且参与表决人数四分之三以上的业主同意" (≥ 3/4 of the
  participants by area AND by headcount: the *major* preset). Every other matter, including *using*
  the maintenance fund (item 5): "过半数" (> 1/2 of the participants by area AND by headcount: the
  *ordinary* preset). Headcount is ``persons``: with one ballot per owner (judicial interpretation
  on building ownership art. 9: several units of one buyer count as one owner) each elector is one
  person; area is the owner's 专有部分面积.
- **两个2/3** (old-estate renovation, seeds 003): "居民改造意愿达到 2/3 以上，改造方案获得 2/3 以上居民
  同意". We read 居民 as households — one ballot per household — counted over *every* household on
  the roll, not only those who voted ("2/3 of the residents", not "of the votes"): question 1 (to do
  it) needs ``for / electorate households ≥ 2/3``; question 2 (the plan) the same, and requires
  question 1 (a plan approved for a renovation that was refused is not approved).
- **Villagers' meeting** (村民委员会组织法 art. 22): "召开村民会议，应当有本村十八周岁以上村民的过半数，
  或者本村三分之二以上的户的代表参加，村民会议所作决定应当经到会人员的过半数通过" — quorum: attendees
  > 1/2 of the adult villagers by headcount OR ≥ 2/3 of the households (an attending 户代表 carries
  households = 1, other members 0), then for > 1/2 of the attendees by headcount. One ballot per
  adult villager.
- **Representatives' meeting** (art. 26): "村民代表会议有三分之二以上的组成人员参加方可召开，所作决定
  应当经到会人员的过半数同意" — attendees ≥ 2/3 of the members, for > 1/2 of the attendees, both by
  headcount (``persons``: each elector is one representative).
- **Adding an elevator** (two electorates): the estate votes under art. 278 items 7–8 (an elevator
  is a 改建 of common parts: the *major* rule, estate-wide), AND the building's own owners agree by
  ≥ 9/10 of them by headcount and by area, counted over every owner of the building (not only
  voters) — the "90 % of the building" some local elevator-retrofit rules ask, so that the lower
  floors, who gain nothing and lose light, largely consent. Many cities now apply art. 278 at the
  building level instead: edit the building's rule for yours.
- **四议三公开** (``STAGE_PRESETS``; a stage's figures are persons only: eligible, present, for):
  the party organisation's proposal and the two committees' discussion follow the Party's rule for
  committee meetings (半数以上委员到会; 应到会委员过半数同意: attendees ≥ 1/2, for > 1/2 of *all*
  members); the party members' meeting: ≥ 2/3 present, > 1/2 of those present approve; the villagers'
  (representatives') meeting: the representatives' meeting rule (≥ 2/3 present, > 1/2 of those
  present) — a full villagers' meeting is a decision with the ``villagers_meeting`` preset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from . import rules

ALL = "all"
BUILDING = "building"


def cond(count: str, measure: str, base: str, cmp: str, ratio: str, electorate: str = ALL) -> dict:
    return {"electorate": electorate, "count": count, "measure": measure, "base": base, "cmp": cmp,
            "ratio": ratio}


def quorum_278(electorate: str = ALL) -> list[dict]:
    """Art. 278: ≥ 2/3 of all owners' area and ≥ 2/3 of all owners by headcount take part."""
    return [cond("participants", "area", "electorate", ">=", "2/3", electorate),
            cond("participants", "persons", "electorate", ">=", "2/3", electorate)]


def approval(cmp: str, ratio: str, electorate: str = ALL) -> list[dict]:
    """For, over the participants, by area and by headcount."""
    return [cond("for", "area", "participants", cmp, ratio, electorate),
            cond("for", "persons", "participants", cmp, ratio, electorate)]


ORDINARY_278 = {"all": quorum_278() + approval(">", "1/2")}
MAJOR_278 = {"all": quorum_278() + approval(">=", "3/4")}
TWO_THIRDS_OF_HOUSEHOLDS = cond("for", "households", "electorate", ">=", "2/3")
VILLAGERS_MEETING = {"all": [
    {"any": [cond("attendees", "persons", "electorate", ">", "1/2"),
             cond("attendees", "households", "electorate", ">=", "2/3")]},
    cond("for", "persons", "attendees", ">", "1/2"),
]}
REPRESENTATIVES_MEETING = {"all": [cond("attendees", "persons", "electorate", ">=", "2/3"),
                                   cond("for", "persons", "attendees", ">", "1/2")]}
ELEVATOR = {"all": [
    *MAJOR_278["all"],
    cond("for", "persons", "electorate", ">=", "9/10", BUILDING),
    cond("for", "area", "electorate", ">=", "9/10", BUILDING),
]}


@dataclass(frozen=True)
class ElectorateSpec:
    """``buildings``: ``[]`` the whole roll; ``None`` the organiser chooses the buildings."""

    key: str
    name: object
    buildings: list | None = field(default_factory=list)


@dataclass(frozen=True)
class QuestionSpec:
    """``text``: a template with ``%(title)s`` (the decision's title); ``requires``: the index (0-based)
    of the question this one needs to have passed, or ``None``."""

    text: object
    rule: dict
    requires: int | None = None


@dataclass(frozen=True)
class Preset:
    code: str
    name: object
    ballot_unit: str
    electorates: tuple[ElectorateSpec, ...]
    questions: tuple[QuestionSpec, ...]
    source: object = ""

    def names(self) -> dict[str, str]:
        return {e.key: str(e.name) for e in self.electorates}

    def question_texts(self, title: str) -> list[str]:
        return [str(q.text) % {"title": title} for q in self.questions]

    def description(self) -> str:
        """The rules of its questions in words (one line per question when there are several)."""
        names = self.names()
        if len(self.questions) == 1:
            return rules.describe(self.questions[0].rule, names)
        return "\n".join(f"{i}. {rules.describe(q.rule, names)}" for i, q in enumerate(self.questions, 1))


ESTATE = ElectorateSpec(ALL, _("全体业主"))
_WHETHER = _("是否同意：%(title)s")

PRESETS: dict[str, Preset] = {p.code: p for p in (
    Preset("civil_code_278_ordinary", _("业主共同决定一般事项（民法典第二百七十八条，双过半）"), "owner", (ESTATE,),
           (QuestionSpec(_WHETHER, ORDINARY_278),),
           _("民法典第二百七十八条：专有部分面积占比三分之二以上且人数占比三分之二以上的业主参与表决；"
             "经参与表决专有部分面积过半数且参与表决人数过半数的业主同意")),
    Preset("civil_code_278_major", _("业主共同决定重大事项（民法典第二百七十八条，双四分之三）"), "owner", (ESTATE,),
           (QuestionSpec(_WHETHER, MAJOR_278),),
           _("民法典第二百七十八条：筹集维修资金、改建重建、改变共有部分用途或利用共有部分经营，"
             "经参与表决专有部分面积四分之三以上且参与表决人数四分之三以上的业主同意")),
    Preset("renovation_two_rounds", _("老旧小区改造“两个三分之二”（两轮表决）"), "household",
           (ElectorateSpec(ALL, _("全体居民户")),),
           (QuestionSpec(_("是否同意实施改造：%(title)s"), TWO_THIRDS_OF_HOUSEHOLDS),
            QuestionSpec(_("是否同意改造方案：%(title)s"), TWO_THIRDS_OF_HOUSEHOLDS, requires=0)),
           _("改造意愿达到三分之二以上居民户同意，改造方案获得三分之二以上居民户同意；方案须在改造获得同意后方有效")),
    Preset("villagers_meeting", _("村民会议（村民委员会组织法第二十二条）"), "person",
           (ElectorateSpec(ALL, _("本村十八周岁以上村民")),),
           (QuestionSpec(_WHETHER, VILLAGERS_MEETING),),
           _("村民委员会组织法第二十二条：本村十八周岁以上村民的过半数，或者本村三分之二以上的户的代表参加；"
             "所作决定应当经到会人员的过半数通过")),
    Preset("representatives_meeting", _("村民代表会议（村民委员会组织法第二十六条）"), "representative",
           (ElectorateSpec(ALL, _("全体村民代表")),),
           (QuestionSpec(_WHETHER, REPRESENTATIVES_MEETING),),
           _("村民委员会组织法第二十六条：三分之二以上的组成人员参加方可召开，所作决定应当经到会人员的过半数同意")),
    Preset("elevator_two_electorates", _("既有住宅加装电梯（全小区与本栋两个范围）"), "owner",
           (ESTATE, ElectorateSpec(BUILDING, _("本栋业主"), None)),
           (QuestionSpec(_("是否同意加装电梯：%(title)s"), ELEVATOR),),
           _("全小区按民法典第二百七十八条改建事项表决（双三分之二参与、双四分之三同意），"
             "且本栋业主人数和专有部分面积均有十分之九以上同意")),
)}


@dataclass(frozen=True)
class StagePreset:
    kind: str
    name: object
    rule: dict
    source: object = ""

    def description(self) -> str:
        return rules.describe(self.rule)


STAGE_PRESETS: dict[str, StagePreset] = {s.kind: s for s in (
    StagePreset("proposal", _("村党组织提议"),
                {"all": [cond("attendees", "persons", "electorate", ">=", "1/2"),
                         cond("for", "persons", "electorate", ">", "1/2")]},
                _("村党组织委员会会议：半数以上委员到会，应到会委员过半数同意")),
    StagePreset("committees", _("村两委会商议"),
                {"all": [cond("attendees", "persons", "electorate", ">=", "1/2"),
                         cond("for", "persons", "electorate", ">", "1/2")]},
                _("村党组织和村民委员会联席会议：半数以上成员到会，应到会成员过半数同意")),
    StagePreset("party_members", _("党员大会审议"),
                {"all": [cond("attendees", "persons", "electorate", ">=", "2/3"),
                         cond("for", "persons", "attendees", ">", "1/2")]},
                _("党员大会：三分之二以上党员到会，到会党员过半数同意")),
    StagePreset("villagers", _("村民（代表）会议决议"), REPRESENTATIVES_MEETING,
                _("村民代表会议：三分之二以上组成人员参加，到会人员过半数同意（村民会议请用“村民会议”表决模板）")),
)}


def for_form() -> list[tuple[str, str, str]]:
    """(code, name, description) of every preset, for a select with its help text."""
    return [(p.code, str(p.name), p.description()) for p in PRESETS.values()]


def stages_for_form() -> list[tuple[str, str, str]]:
    return [(s.kind, str(s.name), s.description()) for s in STAGE_PRESETS.values()]


def stage_figures(eligible, present, votes_for=None, votes_against=None) -> dict:
    """The figures a 四议 stage's or a meeting's rule is evaluated on: persons only, one electorate
    "all"; those present are both the attendees and the participants."""
    eligible, present, votes_for, votes_against = (n or 0 for n in (eligible, present, votes_for, votes_against))

    def persons(n: int) -> dict:
        return {"persons": n}

    return {ALL: {"electorate": persons(eligible), "participants": persons(present), "attendees": persons(present),
                  "for": persons(votes_for), "against": persons(votes_against),
                  "abstain": persons(max(present - votes_for - votes_against, 0))}}

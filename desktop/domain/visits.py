"""What a visit plan is made of: the default visit rules, their targets, and the life events.

Visit rules (走访频次规则). A rule says: households with *target* are visited at least every
*interval_days* days, and gives a short *reason* the worker sees. A target is a pair
(target_kind, target_value), so that other kinds of target can be added later:

1. ``mark``: a member holds that care mark (typed or derived; desktop.domain.marks).
2. ``person_type``: a member has that person type (code table person_type).
3. ``house_use``: the household's house has that use (code table house_use; ``2`` is 出租房屋).
4. ``group``: a member belongs to a named group computed here (``GROUPS``).
5. ``all``: every household (target_value ``""``).

`DEFAULT_RULES` are the defaults a community starts with. They follow the street offices' usual
practice as the grid workers describe it (high-risk elderly weekly, the other cared-for people
monthly, rented houses and everybody else quarterly); they are no national standard, and every
community changes them in 设置 → 走访规则 (desktop.services.visit_rules).

Life events (情况变化, `EVENT_TYPES`) ask for a visit within a window after they happen. 住院 has
no window of its own: its visit is due after discharge, which is recorded as 出院. The
residence-card notice (居住证即将到期) is derived from the person's card end date, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from desktop.domain.formatting import care_mark_labels

MIN_INTERVAL = 1
MAX_INTERVAL = 3650
REASON_MAX = 40

TARGET_KINDS: dict[str, str] = {
    "group": "人群", "mark": "关注标识", "person_type": "人员类型", "house_use": "房屋用途", "all": "全部户",
}

# Named groups (target_kind "group"): code -> label.
GROUPS: dict[str, str] = {"high_risk_elderly": "高龄独居或重病老人"}
HIGH_RISK_AGE = 80
# A health text holding one of these words counts as seriously ill (the person form's 健康状况).
SERIOUS_ILLNESS_WORDS = ("重病", "病重", "危重", "卧床", "失能", "瘫痪")


@dataclass(frozen=True)
class Rule:
    target_kind: str
    target_value: str
    interval_days: int
    reason: str

    @property
    def target(self) -> tuple[str, str]:
        return (self.target_kind, self.target_value)


def _mark(code: str, days: int) -> Rule:
    """A rule for a care mark, its reason the mark's label (desktop/data/codes.json care_mark)."""
    return Rule("mark", code, days, care_mark_labels([code]))


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("group", "high_risk_elderly", 7, GROUPS["high_risk_elderly"]),
    _mark("lone_elderly", 30),
    _mark("disabled", 30),
    _mark("assisted", 30),
    _mark("key_person", 30),
    Rule("house_use", "2", 90, "出租房屋"),
    Rule("all", "", 90, "常规走访"),
)


def seriously_ill(health: str | None) -> bool:
    return health is not None and bool(health) and any(w in health for w in SERIOUS_ILLNESS_WORDS)


def in_group(group: str, *, lone_elderly: bool, age: int | None, health: str | None) -> bool:
    """Whether a person belongs to a named group. high_risk_elderly: 80 or older and living alone
    (the lone_elderly mark), or 60 or older and seriously ill."""
    if group == "high_risk_elderly":
        return age is not None and ((age >= HIGH_RISK_AGE and lone_elderly) or (age >= 60 and seriously_ill(health)))
    return False


@dataclass(frozen=True)
class EventType:
    code: str
    label: str
    window: int | None  # days after the event within which a visit is due; None: no item of its own
    follow_up: str  # what the worker sees in the plan

    def due_on(self, occurred_on: date) -> date | None:
        from datetime import timedelta

        return occurred_on + timedelta(days=self.window) if self.window is not None else None


EVENT_TYPES: dict[str, EventType] = {e.code: e for e in (
    EventType("hospitalized", "住院", None, "住院中,出院后 1 天内回访"),
    EventType("discharged", "出院", 1, "出院后 1 天内回访"),
    EventType("bereaved", "丧偶/亲人去世", 3, "亲人去世后 3 天内慰问"),
    EventType("moved_in", "新迁入", 7, "新迁入 7 天内上门核实"),
    EventType("moved_out", "迁出", 7, "迁出 7 天内核实并更新登记"),
    EventType("newborn", "新生儿", 15, "新生儿 15 天内上门登记"),
    EventType("unemployed", "失业", 7, "失业 7 天内了解就业需求"),
)}
# Recorded by hand: every type above. The derived one below is computed from residence_card_until.
RESIDENCE_CARD = EventType("residence_card", "居住证即将到期", 30, "居住证到期前提醒续签")
RESIDENCE_CARD_NOTICE = 30  # days before the card's end date the notice opens
RESIDENCE_CARD_DUE = 7  # days before the end date it is due


def event_label(code: str) -> str:
    if code == RESIDENCE_CARD.code:
        return RESIDENCE_CARD.label
    e = EVENT_TYPES.get(code)
    return e.label if e else code


def target_label(target_kind: str, target_value: str, value_label: str | None = None) -> str:
    """“关注标识:独居老人”, “全部户”: a target as a sentence shows it."""
    if target_kind == "all":
        return TARGET_KINDS["all"]
    return f"{TARGET_KINDS.get(target_kind, target_kind)}:{value_label or target_value}"

"""实有人口: people, households and the floating population's stays — every write of the residents'
registry is one of these services (ARCHITECTURE pattern 1).

Each service checks ``rules.can_write(actor, Registry.RESIDENTS, area)`` (``PermissionDenied``),
validates with Chinese ``ValidationError`` messages that never echo a sensitive value in full (an
identity number is shown masked: 1503**********1234), writes inside a transaction and leaves an audit
row whose sealed values are masks (``audit.snapshot`` of a ``Sealed`` is its mask).

``valid_id_number`` / ``id_facts`` check a resident identity number (GB 11643-1999: 18 characters,
the last an ISO 7064 MOD 11-2 check digit, ``X`` for 10) and derive the birth year and gender; other
registries may use them.
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.areas.models import Area
from gongzhi.core import audit
from gongzhi.core.forms import clean_text
from gongzhi.portal import residency as portal_residency

from . import crypto, rules
from .models import FloatingRegistration, Household, Person, Registry

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
ID_RE = re.compile(r"^\d{17}[\dX]$")
PHONE_RE = re.compile(r"^(?:\+?86)?(1\d{10}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?)$")
MASK_MAX = 24  # longer input is not echoed even masked (it would be mostly asterisks anyway)

NAME_MAX = 64
ADDRESS_MAX = 200
RELATION_MAX = 16
NUMBER_MAX = 32
STAY_TEXT_MAX = 32

#: why a person leaves the registry (stored in the audit row; retention starts at closed_at)
CLOSE_REASONS = {
    "moved": gettext_lazy("迁出"),
    "deceased": gettext_lazy("死亡"),
    "duplicate": gettext_lazy("重复登记"),
    "other": gettext_lazy("其他"),
}

PERSON_FIELDS = ["name", "gender", "birth_year", "id_number", "phone", "address", "area", "household",
                 "relation", "residence", "account", "closed_at"]
HOUSEHOLD_FIELDS = ["area", "number", "address", "closed_at"]
STAY_FIELDS = ["person", "area", "address", "reason", "housing", "moved_in_on", "moved_out_on"]


# ------------------------------------------------------------------------------ identity numbers


def masked_id(text: str) -> str:
    """The mask of what was typed, or nothing when it is too long to be worth showing."""
    value = crypto.normalise_id(text)
    return crypto.mask(value, crypto.ID) if len(value) <= MASK_MAX else ""


def _id_error(text: str, message: str) -> ValidationError:
    shown = masked_id(text)
    return ValidationError({"id_number": f"{message}（{shown}）" if shown else message})


def valid_id_number(text, *, checksum: bool = True) -> str:
    """The normalised identity number (full-width digits, spaces, a lower-case x are accepted), or
    ``ValidationError`` with the mask of what was typed. ``checksum=False`` checks the format only
    (a search: it should also find a number that came in by another way than these services)."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError({"id_number": _("请填写身份证号")})
    value = crypto.normalise_id(text)
    if len(value) != 18:
        raise _id_error(value, _("身份证号应为 18 位"))
    if not ID_RE.match(value):
        raise _id_error(value, _("身份证号格式不正确"))
    if not checksum:
        return value
    total = sum(int(d) * w for d, w in zip(value[:17], ID_WEIGHTS, strict=True))
    if ID_CHECK[total % 11] != value[17]:
        raise _id_error(value, _("身份证号校验位不正确"))
    try:
        born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise _id_error(value, _("身份证号中的出生日期不正确")) from None
    if born.year < 1880 or born > timezone.localdate():
        raise _id_error(value, _("身份证号中的出生日期不正确"))
    return value


def id_facts(number: str) -> tuple[int, str]:
    """(birth year, gender) of a valid identity number: the 17th digit is odd for men."""
    return int(number[6:10]), (Person.Gender.MALE if int(number[16]) % 2 else Person.Gender.FEMALE)


def id_check_digit(first17: str) -> str:
    """The check digit for 17 digits (tests and demo data make valid numbers with it)."""
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


# ------------------------------------------------------------------------------ areas


def writable_areas(actor):
    """Areas where ``actor`` may write residents (forms offer them; an import names them)."""
    area_paths = rules.paths(actor, Registry.RESIDENTS, write=True) if actor is not None else None
    return Area.objects.all() if area_paths is None else Area.objects.under_paths(area_paths)


def visible_areas(user):
    """Areas whose residents ``user`` sees (the list's area filter)."""
    area_paths = rules.paths(user, Registry.RESIDENTS)
    return Area.objects.all() if area_paths is None else Area.objects.under_paths(area_paths)


# ------------------------------------------------------------------------------ validation helpers


def clean_phone(value) -> str:
    value = clean_text(value, "phone", _("联系电话"), 32, required=False)
    value = re.sub(r"[\s()（）]", "", value)
    if value and not PHONE_RE.match(value):
        shown = crypto.mask(value, crypto.PHONE) if len(value) <= MASK_MAX else ""
        message = _("联系电话格式不正确")
        raise ValidationError({"phone": f"{message}（{shown}）" if shown else message})
    return value


def _check_write(actor, area) -> None:
    if not isinstance(area, Area):
        raise ValidationError({"area": _("请选择所在区域")})
    if not rules.can_write(actor, Registry.RESIDENTS, area):
        raise PermissionDenied(_("您不能在该区域登记实有人口"))


def _clean_choice(value, field: str, choices, label: str) -> str:
    value = value or ""
    if value not in choices:
        raise ValidationError({field: _("%(label)s不正确") % {"label": label}})
    return value


def _open_duplicate(number: str, exclude_pk=None):
    qs = Person.objects.filter(id_number_index=crypto.blind_index(number), closed_at__isnull=True,
                               anonymised_at__isnull=True)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.first()


def _duplicate_error(number: str) -> ValidationError:
    return ValidationError({"id_number": _("身份证号 %(id)s 已有在册人员登记，请勿重复登记") % {
        "id": crypto.mask(number, crypto.ID)}})


def _check_household(actor, household) -> None:
    if household is None:
        return
    if not isinstance(household, Household) or household.closed_at is not None:
        raise ValidationError({"household": _("该户已注销或不存在")})
    if not rules.can_write(actor, Registry.RESIDENTS, household.area):
        raise PermissionDenied(_("您不能修改该户"))


def _gender(value, number: str) -> tuple[int, str]:
    birth_year, derived = id_facts(number)
    value = value or ""
    if value not in Person.Gender.values:
        raise ValidationError({"gender": _("性别不正确")})
    if value and value != derived:
        raise ValidationError({"gender": _("性别与身份证号不符")})
    return birth_year, derived


def _today(value, field: str, label: str) -> datetime.date:
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise ValidationError({field: _("请填写%(label)s") % {"label": label}})
    if value > timezone.localdate():
        raise ValidationError({field: _("%(label)s不能晚于今天") % {"label": label}})
    return value


# ------------------------------------------------------------------------------ people


@transaction.atomic
def register_person(actor, *, area, name, id_number, gender="", phone="", address="", household=None,
                    relation="", residence=Person.Residence.REGISTERED) -> Person:
    """A new person in the registry; refused when an open person has the same identity number."""
    _check_write(actor, area)
    _check_household(actor, household)
    name = clean_text(name, "name", _("姓名"), NAME_MAX)
    number = valid_id_number(id_number)
    birth_year, gender = _gender(gender, number)
    phone = clean_phone(phone)
    address = clean_text(address, "address", _("详细地址"), ADDRESS_MAX, required=False)
    relation = clean_text(relation, "relation", _("与户主关系"), RELATION_MAX, required=False)
    residence = _clean_choice(residence, "residence", Person.Residence.values, _("人口类型"))
    if _open_duplicate(number) is not None:
        raise _duplicate_error(number)
    try:
        with transaction.atomic():  # the unique index settles a race the check above cannot see
            person = Person.objects.create(
                name=name, gender=gender, birth_year=birth_year, id_number=number, phone=phone, address=address,
                area=area, household=household, relation=relation, residence=residence,
                created_by=actor if getattr(actor, "is_authenticated", False) else None)
    except IntegrityError:
        raise _duplicate_error(number) from None
    audit.record(actor, "registries.register_person", person, after=audit.snapshot(person, PERSON_FIELDS))
    return person


def _locked(model, obj):
    return model.objects.select_for_update().get(pk=obj.pk)


def _home(person: Person) -> tuple:
    """What the portal's home mirrors of an entry (docs/registries.md#portal): its account while it is
    open, and its area — nothing else of the registry crosses over."""
    return (person.account if person.closed_at is None else None), person.area


@transaction.atomic
def update_person(actor, person: Person, *, name=None, id_number=None, gender=None, phone=None, address=None,
                  area=None, relation=None, residence=None) -> Person:
    """Change a person's details; ``None`` keeps a value (an edit form leaves sealed fields empty to
    keep them: their plaintext is never put into a form)."""
    _check_write(actor, person.area)
    person = _locked(Person, person)
    if person.closed_at is not None:
        raise ValidationError(_("该人员已注销，不能修改"))
    before = audit.snapshot(person, PERSON_FIELDS)
    home = _home(person)
    if area is not None and area != person.area:
        _check_write(actor, area)
        person.area = area
    if name is not None:
        person.name = clean_text(name, "name", _("姓名"), NAME_MAX)
    new_number = id_number.strip() if isinstance(id_number, str) else id_number
    if new_number:
        number = valid_id_number(new_number)
        if _open_duplicate(number, exclude_pk=person.pk) is not None:
            raise _duplicate_error(number)
        person.id_number = number
    if gender is not None or new_number:
        number = person.id_number.reveal()
        if number:
            person.birth_year, person.gender = _gender(gender or "", number)
        else:
            person.gender = _clean_choice(gender, "gender", Person.Gender.values, _("性别"))
    if phone is not None and phone != "":
        person.phone = clean_phone(phone)
    if address is not None and address != "":
        person.address = clean_text(address, "address", _("详细地址"), ADDRESS_MAX)
    if relation is not None:
        person.relation = clean_text(relation, "relation", _("与户主关系"), RELATION_MAX, required=False)
    if residence is not None:
        person.residence = _clean_choice(residence, "residence", Person.Residence.values, _("人口类型"))
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError:
        raise _duplicate_error(person.id_number.reveal()) from None
    audit.record(actor, "registries.update_person", person, before=before,
                 after=audit.snapshot(person, PERSON_FIELDS))
    if home != _home(person):  # moved to another area: the portal home follows
        portal_residency.follow_registry(actor, before=home, after=_home(person))
    return person


@transaction.atomic
def close_person(actor, person: Person, reason: str) -> Person:
    """The person left the registry (moved away, died …): ``closed_at`` is set — the retention period
    starts then — and an open stay ends today."""
    _check_write(actor, person.area)
    reason = _clean_choice(reason, "reason", CLOSE_REASONS, _("注销原因"))
    person = _locked(Person, person)
    if person.closed_at is not None:
        raise ValidationError(_("该人员已注销"))
    before = audit.snapshot(person, PERSON_FIELDS)
    home = _home(person)
    person.closed_at = timezone.now()
    person.save(update_fields=["closed_at"])
    today = timezone.localdate()
    for stay in FloatingRegistration.objects.select_for_update().filter(person=person, moved_out_on=None):
        stay.moved_out_on = max(today, stay.moved_in_on)
        stay.save(update_fields=["moved_out_on"])
    audit.record(actor, "registries.close_person", person, before=before,
                 after=audit.snapshot(person, PERSON_FIELDS), note=str(CLOSE_REASONS[reason]))
    portal_residency.follow_registry(actor, before=home, after=_home(person))  # the portal home ends
    return person


@transaction.atomic
def move_person(actor, person: Person, household: Household | None, relation: str = "") -> Person:
    """Into another household (or out of any, with ``household=None``)."""
    _check_write(actor, person.area)
    _check_household(actor, household)
    relation = clean_text(relation, "relation", _("与户主关系"), RELATION_MAX, required=False)
    person = _locked(Person, person)
    if person.closed_at is not None:
        raise ValidationError(_("该人员已注销，不能修改"))
    before = audit.snapshot(person, PERSON_FIELDS)
    person.household, person.relation = household, relation
    person.save(update_fields=["household", "relation"])
    audit.record(actor, "registries.move_person", person, before=before,
                 after=audit.snapshot(person, PERSON_FIELDS))
    return person


@transaction.atomic
def link_account(actor, person: Person, user) -> Person:
    """Tie a person to a platform account (their own data, subject requests); ``user=None`` unties.
    An open person's account gets a verified portal home at the person's area (and loses it when
    untied): ``portal.residency.follow_registry``."""
    _check_write(actor, person.area)
    person = _locked(Person, person)
    if user is not None:
        if not getattr(user, "is_active", False):
            raise ValidationError({"account": _("账号不存在或已停用")})
        if Person.objects.filter(account=user, closed_at__isnull=True).exclude(pk=person.pk).exists():
            raise ValidationError({"account": _("该账号已关联其他人员")})
    before = audit.snapshot(person, PERSON_FIELDS)
    home = _home(person)
    person.account = user
    person.save(update_fields=["account"])
    audit.record(actor, "registries.link_account", person, before=before,
                 after=audit.snapshot(person, PERSON_FIELDS))
    portal_residency.follow_registry(actor, before=home, after=_home(person))  # a verified portal home
    return person


# ------------------------------------------------------------------------------ households


@transaction.atomic
def create_household(actor, *, area, number="", address="") -> Household:
    _check_write(actor, area)
    number = clean_text(number, "number", _("户号"), NUMBER_MAX, required=False)
    address = clean_text(address, "address", _("详细地址"), ADDRESS_MAX, required=False)
    if number and Household.objects.filter(area=area, number=number, closed_at__isnull=True).exists():
        raise ValidationError({"number": _("该区域已有户号为 %(n)s 的户") % {"n": number}})
    household = Household.objects.create(area=area, number=number, address=address)
    audit.record(actor, "registries.create_household", household,
                 after=audit.snapshot(household, HOUSEHOLD_FIELDS))
    return household


# ------------------------------------------------------------------------------ floating population


@transaction.atomic
def register_stay(actor, person: Person, *, area, address="", moved_in_on, reason="", housing="") \
        -> FloatingRegistration:
    """流动人口登记: a stay from ``moved_in_on``; the person becomes floating population."""
    _check_write(actor, person.area)
    _check_write(actor, area)
    address = clean_text(address, "address", _("居住地址"), ADDRESS_MAX, required=False)
    reason = clean_text(reason, "reason", _("来此事由"), STAY_TEXT_MAX, required=False)
    housing = clean_text(housing, "housing", _("居住方式"), STAY_TEXT_MAX, required=False)
    moved_in_on = _today(moved_in_on, "moved_in_on", _("迁入日期"))
    person = _locked(Person, person)
    if person.closed_at is not None:
        raise ValidationError(_("该人员已注销，不能登记居住"))
    if FloatingRegistration.objects.filter(person=person, moved_out_on=None).exists():
        raise ValidationError(_("该人员已有未迁出的居住登记，请先登记迁出"))
    stay = FloatingRegistration.objects.create(
        person=person, area=area, address=address, reason=reason, housing=housing, moved_in_on=moved_in_on,
        registered_by=actor if getattr(actor, "is_authenticated", False) else None)
    if person.residence != Person.Residence.FLOATING:
        person.residence = Person.Residence.FLOATING
        person.save(update_fields=["residence"])
    audit.record(actor, "registries.register_stay", stay, after=audit.snapshot(stay, STAY_FIELDS))
    return stay


@transaction.atomic
def end_stay(actor, stay: FloatingRegistration, moved_out_on) -> FloatingRegistration:
    """The person moved out: not before they moved in, and only once."""
    _check_write(actor, stay.area)
    moved_out_on = _today(moved_out_on, "moved_out_on", _("迁出日期"))
    stay = _locked(FloatingRegistration, stay)
    if stay.moved_out_on is not None:
        raise ValidationError(_("该居住登记已于 %(d)s 迁出") % {"d": stay.moved_out_on.isoformat()})
    if moved_out_on < stay.moved_in_on:
        raise ValidationError({"moved_out_on": _("迁出日期不能早于迁入日期（%(d)s）") % {
            "d": stay.moved_in_on.isoformat()}})
    before = audit.snapshot(stay, STAY_FIELDS)
    stay.moved_out_on = moved_out_on
    stay.save(update_fields=["moved_out_on"])
    audit.record(actor, "registries.end_stay", stay, before=before, after=audit.snapshot(stay, STAY_FIELDS))
    return stay

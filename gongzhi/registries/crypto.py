"""Sensitive fields at rest: encrypted, masked by default, revealed only on purpose.

- ``SealedField`` stores a Fernet token (AES-128-CBC + HMAC-SHA256, from the ``cryptography``
  package) in a text column; the raw column never holds the plaintext. Keys come from the
  environment: ``REGISTRY_KEYS`` (comma-separated Fernet keys, the first one encrypts, all of them
  decrypt — so a new key is added in front and ``gongzhi rotate_keys`` re-encrypts every row with it).
- Reading the field gives a ``Sealed`` value, not a string: ``str(sealed)`` (templates, admin,
  audit rows, API schemas, error messages) is the **mask** (1503**********1234, 138****0001, ••••);
  only ``sealed.reveal()`` gives the plaintext, and only the reveal door (``access.py``) calls it for
  display. Forgetting to mask is therefore not possible by accident.
- ``blind_index`` is an HMAC of the normalised value under a separate key (``REGISTRY_INDEX_KEY``):
  exact search on an identity number without decrypting the table.

In development (``DEBUG`` or ``GONGZHI_INSECURE_DEV``) both keys are derived from ``SECRET_KEY`` when
unset; in production a missing key is an error (``checks.py``). See docs/registries.md#keys.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import unicodedata

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.utils.translation import gettext_lazy as _

PREFIX = "gz1:"  # marks a token written by this module (and lets a check find plaintext that slipped in)

# Mask kinds
ID = "id"  # identity number: 1503**********1234
PHONE = "phone"  # 138****0001
ADDRESS = "address"  # the first few characters, then ***
TEXT = "text"  # free text (diagnosis, offence, notes): nothing shown
NAME = "name"  # 张*, 欧阳** (for lists shown to those who may not see names)
HIDDEN = "••••"


def _derived(purpose: str) -> bytes:
    digest = hashlib.sha256(f"gongzhi-registries-{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _development() -> bool:
    return bool(settings.DEBUG or getattr(settings, "GONGZHI_INSECURE_DEV", False) or settings.TESTING)


@functools.cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "REGISTRY_KEYS must be Fernet keys (32 url-safe base64-encoded bytes each; make one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
        ) from exc


def keys() -> tuple[str, ...]:
    configured = tuple(getattr(settings, "REGISTRY_KEYS", ()) or ())
    if configured:
        return configured
    if _development():
        return (_derived("encryption").decode(),)
    raise ImproperlyConfigured("REGISTRY_KEYS is not set: the registries cannot encrypt (docs/registries.md#keys)")


def fernet() -> MultiFernet:
    return _fernet_for(keys())


def index_key() -> bytes:
    key = getattr(settings, "REGISTRY_INDEX_KEY", "")
    if key:
        return key.encode()
    if _development():
        return _derived("index")
    raise ImproperlyConfigured("REGISTRY_INDEX_KEY is not set (docs/registries.md#keys)")


def encrypt(plain: str) -> str:
    return PREFIX + fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    if not token.startswith(PREFIX):
        raise ValueError("not a sealed value")
    try:
        return fernet().decrypt(token[len(PREFIX):].encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A sealed value cannot be decrypted with any key in REGISTRY_KEYS (was a key removed "
            "before `gongzhi rotate_keys` ran?)") from exc


def rotate(token: str) -> str:
    """The same plaintext under the current (first) key."""
    return PREFIX + fernet().rotate(token[len(PREFIX):].encode("ascii")).decode("ascii")


def normalise_id(value: str) -> str:
    """An identity number as typed (full-width digits, spaces, a lower-case x) in one form."""
    return "".join(unicodedata.normalize("NFKC", value or "").split()).upper()


def blind_index(value: str) -> str:
    """HMAC-SHA256 of the normalised value under the index key: equal inputs, equal outputs."""
    value = normalise_id(value)
    if not value:
        return ""
    return hmac.new(index_key(), value.encode("utf-8"), hashlib.sha256).hexdigest()[:40]


def mask(plain: str, kind: str) -> str:
    """The one masking rule (lists, search, exports without approval, logs, errors)."""
    plain = plain or ""
    if not plain:
        return ""
    if kind == ID:
        value = normalise_id(plain)
        if len(value) <= 8:
            return "*" * len(value)
        return value[:4] + "*" * (len(value) - 8) + value[-4:]
    if kind == PHONE:
        value = "".join(plain.split())
        if len(value) < 7:
            return "*" * len(value)
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    if kind == ADDRESS:
        return plain[:6] + "***" if len(plain) > 6 else "***"
    if kind == NAME:
        return plain[:1] + "*" * max(1, len(plain) - 1)
    return HIDDEN


class Sealed:
    """A decrypted-on-demand value whose every string form is the mask."""

    __slots__ = ("_token", "_plain", "kind")

    def __init__(self, *, token: str | None = None, plain: str | None = None, kind: str = TEXT):
        self._token, self._plain, self.kind = token, plain, kind

    def reveal(self) -> str:
        """The plaintext. Call it only where a full view is allowed and logged (access.py), in
        services that must compare values, in exports that were approved, and in key rotation."""
        if self._plain is None:
            self._plain = decrypt(self._token) if self._token else ""
        return self._plain

    reveal.alters_data = True  # a template can never call it: {{ person.id_number.reveal }} renders nothing

    @property
    def masked(self) -> str:
        return mask(self.reveal(), self.kind)

    def __str__(self) -> str:
        return self.masked

    __repr__ = __str__

    def __bool__(self) -> bool:
        return bool(self._token) if self._plain is None else bool(self._plain)

    def __eq__(self, other) -> bool:
        if isinstance(other, Sealed):
            return self.reveal() == other.reveal()
        return NotImplemented

    __hash__ = None

    def __html__(self) -> str:  # Django's escaping calls this: a template shows the mask
        return self.masked

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)


class SealedAttribute(DeferredAttribute):
    """Whatever is assigned (a plain string from a form, a token from the database) is held as
    ``Sealed`` at once: a freshly created object does not leak its plaintext through ``str()``."""

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = self.field.to_python(value)


class SealedField(models.TextField):
    """A text field stored encrypted; reads as ``Sealed`` (masked unless revealed).

    ``index_to`` names a sibling ``CharField`` that receives the blind index of the value on every
    save (exact search, e.g. by identity number).
    """

    descriptor_class = SealedAttribute

    def __init__(self, *args, mask_kind: str = TEXT, index_to: str = "", **kwargs):
        self.mask_kind = mask_kind
        self.index_to = index_to
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.mask_kind != TEXT:
            kwargs["mask_kind"] = self.mask_kind
        if self.index_to:
            kwargs["index_to"] = self.index_to
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return Sealed(plain="", kind=self.mask_kind)
        return Sealed(token=value, kind=self.mask_kind)

    def to_python(self, value):
        if isinstance(value, Sealed):
            return value
        if isinstance(value, str) and value.startswith(PREFIX):
            return Sealed(token=value, kind=self.mask_kind)
        return Sealed(plain="" if value is None else str(value), kind=self.mask_kind)

    def pre_save(self, model_instance, add):
        value = super().pre_save(model_instance, add)
        if self.index_to:
            plain = value.reveal() if isinstance(value, Sealed) else (value or "")
            setattr(model_instance, self.index_to, blind_index(plain))
        return value

    def get_prep_value(self, value):
        if value is None:
            return ""
        plain = value.reveal() if isinstance(value, Sealed) else str(value)
        return encrypt(plain) if plain else ""

    def value_to_string(self, obj):  # serialisation (dumpdata, fixtures): the token, never the plaintext
        value = self.value_from_object(obj)
        return self.get_prep_value(value)

    def get_lookup(self, lookup_name):
        if lookup_name not in ("exact", "isnull"):
            return None  # ciphertext is randomised: only `=""` makes sense; search through the blind index
        return super().get_lookup(lookup_name)

    def formfield(self, **kwargs):
        from django import forms

        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3}) if self.mask_kind == TEXT else forms.TextInput)
        return super().formfield(**kwargs)


def sealed_fields(model) -> list[SealedField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, SealedField)]


SEALED_HELP = _("加密存储；列表中显示为脱敏值，查看完整信息需说明用途并留痕")

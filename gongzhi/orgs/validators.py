"""Password rules beyond Django's own validators (configured in settings.AUTH_PASSWORD_VALIDATORS)."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def character_classes(password: str) -> set[str]:
    """Which of upper case, lower case, digits and symbols (anything else) the password uses."""
    classes = set()
    for ch in password:
        if ch.isascii() and ch.isupper():
            classes.add("upper")
        elif ch.isascii() and ch.islower():
            classes.add("lower")
        elif ch.isdigit():
            classes.add("digit")
        else:
            classes.add("symbol")
    return classes


class CharacterClassesValidator:
    """等保 (MLPS 2.0) asks for "complex" passwords: at least ``min_classes`` of upper case, lower
    case, digits and symbols. Any non-ASCII letter (e.g. a Chinese character) counts as a symbol."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = max(1, min(4, int(min_classes)))

    def validate(self, password: str, user=None) -> None:
        if len(character_classes(password)) < self.min_classes:
            raise ValidationError(
                _("密码须至少包含大写字母、小写字母、数字、符号中的 %(min)s 类。"),
                code="password_too_simple", params={"min": self.min_classes},
            )

    def get_help_text(self) -> str:
        return _("密码须至少包含大写字母、小写字母、数字、符号中的 %(min)s 类。") % {"min": self.min_classes}


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's, with a Chinese message (Django's own Chinese catalogue lacks its newer wording)."""

    def get_error_message(self):
        return _("密码太短，至少需要 %(min_length)d 个字符。") % {"min_length": self.min_length}

    def validate(self, password, user=None):
        if len(password) < self.min_length:
            raise ValidationError(self.get_error_message(), code="password_too_short",
                                  params={"min_length": self.min_length})

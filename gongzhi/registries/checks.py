"""Deployment checks for the registries' keys (docs/registries.md#keys)."""

from __future__ import annotations

from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_registry_keys(app_configs=None, **kwargs) -> list[Error]:
    """gongzhi.E030: production needs REGISTRY_KEYS (valid Fernet keys) and REGISTRY_INDEX_KEY."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from . import crypto

    errors = []
    if not settings.REGISTRY_KEYS:
        errors.append(Error("REGISTRY_KEYS is not set: sensitive registry fields would use a key derived "
                            "from SECRET_KEY.", hint="Set REGISTRY_KEYS (docs/registries.md#keys).",
                            id="gongzhi.E030"))
    else:
        try:
            crypto.fernet()
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), id="gongzhi.E031"))
    if not settings.REGISTRY_INDEX_KEY:
        errors.append(Error("REGISTRY_INDEX_KEY is not set.", hint="Set REGISTRY_INDEX_KEY, a key of its own "
                            "(docs/registries.md#keys).", id="gongzhi.E032"))
    return errors

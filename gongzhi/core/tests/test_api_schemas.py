"""The OpenAPI document names each response/request schema by its class name, and django-ninja lets
the last class of a name silently replace the others: two apps' ``RateOut`` made the router's
accuracy answers "violate" the evaluation's schema. Every schema class the API uses must have its own
name."""

from __future__ import annotations

from collections import defaultdict


def _schemas(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _schemas(sub)


def test_every_api_schema_has_its_own_name():
    from ninja import Schema

    import gongzhi.urls  # noqa: F401 (imports every app's api module)

    names: dict[str, set[str]] = defaultdict(set)
    for cls in _schemas(Schema):
        if cls.__module__.startswith("gongzhi."):
            names[cls.__name__].add(cls.__module__)
    assert {name: mods for name, mods in names.items() if len(mods) > 1} == {}

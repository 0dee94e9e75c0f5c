"""Per-process cache of the small reference tables read on every report.

Intake reads the same few rows for every report: the office hours and working calendar, the active
category directory, its time limits and routing rules, an area's class. They change a few times a
year, so each web or worker process keeps them in memory:

- a value is dropped in this process as soon as any model it was registered for is saved or
  deleted here (``post_save``/``post_delete``, ``m2m_changed``), so an admin's edit applies at once
  in the process that made it;
- other processes (other gunicorn workers, other hosts) and bulk writes, which send no signals,
  see the change within ``settings.REFERENCE_CACHE_SECONDS`` (30 s by default; 0 turns caching
  off).

Nothing here matters for correctness between processes beyond that delay: a deadline computed
with the old office hours during those seconds is what it would have been a moment earlier.

Values may also be small rendered fragments (the queue's filter options, per language and
jurisdiction). Keys are bounded: past ``settings.REFERENCE_CACHE_MAX_ENTRIES`` (10,000) values, the
expired ones and then the oldest are dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")

_values: dict[Any, tuple[float, Any]] = {}
_watched: set[type] = set()
_lock = threading.Lock()


def clear(*_args, **_kwargs) -> None:
    """Forget every cached value (also the signal receiver)."""
    _values.clear()


def get(key: Any, load: Callable[[], T]) -> T:
    """The cached value for ``key``, loading it with ``load()`` when missing or stale."""
    ttl = getattr(settings, "REFERENCE_CACHE_SECONDS", 30)
    if ttl <= 0:
        return load()
    now = time.monotonic()
    hit = _values.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = load()
    if hit is not None:
        _values.pop(key, None)  # re-inserted last: the oldest values are the first ones
    elif len(_values) >= getattr(settings, "REFERENCE_CACHE_MAX_ENTRIES", 10_000):
        _make_room(now)
    _values[key] = (now + ttl, value)
    return value


def _make_room(now: float) -> None:
    """Drop the expired values, then the oldest ones until a tenth of the limit is free."""
    limit = getattr(settings, "REFERENCE_CACHE_MAX_ENTRIES", 10_000)
    with _lock:
        items = list(_values.items())  # insertion order: oldest first
        drop = [key for key, (expires, _value) in items if expires <= now]
        room = len(items) - len(drop) - (limit - max(limit // 10, 1))
        if room > 0:
            drop += [key for key, (expires, _value) in items if expires > now][:room]
        for key in drop:
            _values.pop(key, None)


def watch(models: Iterable[type]) -> None:
    """Clear the cache whenever one of ``models`` changes in this process (call from AppConfig.ready)."""
    with _lock:
        for model in models:
            if model in _watched:
                continue
            _watched.add(model)
            post_save.connect(clear, sender=model, dispatch_uid=f"refcache-save-{model._meta.label}")
            post_delete.connect(clear, sender=model, dispatch_uid=f"refcache-delete-{model._meta.label}")
            for field in model._meta.local_many_to_many:
                m2m_changed.connect(clear, sender=field.remote_field.through,
                                    dispatch_uid=f"refcache-m2m-{model._meta.label}-{field.name}")

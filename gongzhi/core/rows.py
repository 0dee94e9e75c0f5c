"""Two ORM operations without the ORM's per-call query building, for the hottest path (a report).

Django builds the SQL of every ``save()``, ``bulk_create()`` and ``filter().first()`` afresh: for a
40-column table that is ≈ 0.5 ms of Python per statement, more than PostgreSQL spends running it.
These helpers keep the SQL text per model (built once per process, from the model's own
``_meta``) and still convert every value with the field's own ``get_db_prep_save`` / ``from_db``,
so what is written and read is exactly what the ORM would write and read. They send no model
signals (nothing in Gongzhi listens to the models they are used for — see the callers).

Use them only where a profile says so; everywhere else the ORM is the clearer code.
"""

from __future__ import annotations

from functools import cache

from django.db import connections, router
from django.db.models import Model


@cache
def _insert_fields(model: type[Model]) -> tuple:
    meta = model._meta
    return tuple(f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated)


@cache
def _insert_sql(model: type[Model], alias: str, rows: int) -> str:
    quote = connections[alias].ops.quote_name
    meta = model._meta
    columns = ", ".join(quote(f.column) for f in _insert_fields(model))
    one = "(" + ", ".join(["%s"] * len(_insert_fields(model))) + ")"
    return (f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([one] * rows)} "
            f"RETURNING {quote(meta.pk.column)}")


def insert(objs: list[Model]) -> list[Model]:
    """INSERT these new instances of one model in one statement; sets their primary keys.

    Like ``bulk_create`` (no signals, no ``save()`` override called) but with the SQL text cached.
    Falls back to ``bulk_create`` on a database that cannot return the new keys.
    """
    if not objs:
        return objs
    model = type(objs[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    if not connection.features.can_return_rows_from_bulk_insert or model._meta.auto_field is None:
        return model._default_manager.using(alias).bulk_create(objs)
    fields = _insert_fields(model)
    params = []
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="insert")  # e.g. case_id from a case saved since
        params += [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, alias, len(objs)), params)
        keys = cursor.fetchall()
    attname = model._meta.pk.attname
    for obj, (key,) in zip(objs, keys, strict=True):
        setattr(obj, attname, key)
        obj._state.adding = False
        obj._state.db = alias
    return objs


@cache
def _select(model: type[Model], alias: str) -> tuple[str, tuple[str, ...], tuple]:
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    table = model._meta.db_table
    converters = []
    for field in fields:
        col = field.get_col(table)
        converters.append((col, tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))))
    return (", ".join(f"{quote(table)}.{quote(f.column)}" for f in fields), tuple(f.attname for f in fields),
            tuple(converters))


def columns(model: type[Model], alias: str = "default") -> str:
    """``"table"."column", …`` of every concrete field, for a hand-written SELECT (see ``build``)."""
    return _select(model, alias)[0]


def width(model: type[Model]) -> int:
    """How many values ``columns(model)`` selects."""
    return len(model._meta.concrete_fields)


def build(model: type[Model], values, alias: str = "default") -> Model:
    """An instance from the values of ``columns(model)``, in order, converted as the ORM does."""
    _sql, attnames, converters = _select(model, alias)
    connection = connections[alias]
    converted = []
    for (col, funcs), value in zip(converters, values, strict=True):
        for func in funcs:
            value = func(value, col, connection)
        converted.append(value)
    return model.from_db(alias, attnames, converted)

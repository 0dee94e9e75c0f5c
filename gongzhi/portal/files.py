"""Files written while publishing (notice attachments, 公开栏 receipts) are not part of the database
transaction: written inside ``removed_on_error()``, they are deleted again when the block fails, so
a publish that is rolled back leaves no orphan file in the storage.

The same pattern as ``gongzhi.cases.photos.removed_on_error`` (wrap ``transaction.atomic()`` in it);
that one is entered too, so a ``photos.write_jpeg`` inside the block is covered as well. ``save``
is this module's ``write_jpeg`` for files of any type.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from gongzhi.cases import photos

logger = logging.getLogger("gongzhi.portal.files")

_written: contextvars.ContextVar[list | None] = contextvars.ContextVar("portal_files", default=None)


def save(field, name: str, content) -> None:
    """Store ``content`` in a model's file field (the row itself is not saved). Inside
    ``removed_on_error()`` the file is deleted again if the block fails."""
    written = _written.get()
    if written is None:
        raise RuntimeError("portal.files.save outside removed_on_error(): a failure would orphan the file")
    field.save(name, content, save=False)
    written.append((field.storage, field.name))


@contextmanager
def removed_on_error() -> Iterator[None]:
    """Files saved with ``save`` (or ``photos.write_jpeg``) inside the block are deleted if it raises."""
    written: list = []
    token = _written.set(written)
    try:
        with photos.removed_on_error():
            yield
    except BaseException:
        for storage, name in written:
            try:
                storage.delete(name)
            except Exception:  # noqa: BLE001 - cleaning up after a failure must not hide the failure
                logger.warning("could not delete orphaned file %s", name, exc_info=True)
        raise
    finally:
        _written.reset(token)

"""A tqdm progress bar per stage for the cases app's import commands (not a command itself)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from tqdm import tqdm


@contextmanager
def progress_bars(command: BaseCommand, verbosity: int) -> Iterator[Callable[[str, int, int], None]]:
    """Yield ``progress(stage, done, total)``; each new stage closes the previous bar."""
    bars: dict[str, tqdm] = {}
    stderr = getattr(command.stderr, "_out", sys.stderr)  # tqdm needs the raw stream (no added newlines)
    labels = {"check": _("校验"), "write": _("写入"), "load": _("载入")}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[stage] = tqdm(total=total, desc=labels.get(stage, stage), unit=_("行"), file=stderr,
                                     disable=verbosity == 0, leave=True, mininterval=0.2)
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()

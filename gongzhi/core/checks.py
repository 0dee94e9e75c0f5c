"""System checks shown to operators (``gongzhi check``) and, for the calendar, to administrators."""

from __future__ import annotations

"""/api/v1/points (being written)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["points"])

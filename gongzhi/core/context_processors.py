from __future__ import annotations

from django.conf import settings


def shell(request):
    """What every page's layout needs."""
    return {"map_tile_url": settings.MAP_TILE_URL, "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION}

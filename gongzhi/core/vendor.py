"""A static-files finder for single files of npm packages (setting ``VENDOR_FILES``).

Whole ``dist`` folders go in ``STATICFILES_DIRS`` (Leaflet's CSS needs its images beside it); a
package whose ``dist`` is mostly what we don't serve (ECharts: 51 MB of builds and source maps)
lists just the files the pages load, so ``collectstatic`` copies and compresses only those.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage


def _entries() -> list[tuple[str, Path, list[str]]]:
    return [(prefix, Path(folder), list(names)) for prefix, (folder, names) in settings.VENDOR_FILES.items()]


class VendorFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storages = {}
        for prefix, folder, _names in _entries():
            storage = FileSystemStorage(location=folder)
            storage.prefix = prefix  # collectstatic writes the files under it
            self.storages[prefix] = storage

    def check(self, **kwargs):
        return [Error(f"{folder / name} is missing: run `make setup` (npm ci)", id="gongzhi.E020")
                for _prefix, folder, names in _entries() for name in names if not (folder / name).is_file()]

    def find(self, path, find_all=False, **kwargs):
        found = []
        for prefix, folder, names in _entries():
            for name in names:
                if path == f"{prefix}/{name}" and (folder / name).is_file():
                    if not find_all:
                        return str(folder / name)
                    found.append(str(folder / name))
        return found

    def list(self, ignore_patterns):
        for prefix, _folder, names in _entries():
            for name in names:
                if self.storages[prefix].exists(name):
                    yield name, self.storages[prefix]

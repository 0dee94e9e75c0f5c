"""The sample joint-inspection checklist shipped in ``data/`` (built by ``data/build_sample.py``)."""

from __future__ import annotations

from pathlib import Path

SAMPLE = Path(__file__).resolve().parent / "data" / "joint_inspection.xlsx"
SAMPLE_CODE = "joint"
SAMPLE_NAME = "星火工作站联合检查表"


def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


def load_sample(*, actor=None):
    """Create the sample checklist with the shipped workbook as its active version (once)."""
    from . import services
    from .models import Checklist

    checklist = Checklist.objects.filter(code=SAMPLE_CODE).first()
    if checklist is not None:
        return checklist.active_version
    checklist = services.create_checklist(actor=actor, code=SAMPLE_CODE, name=SAMPLE_NAME)
    version = services.upload_version(checklist, sample_bytes(), actor=actor, filename=SAMPLE.name)
    return services.activate_version(version, actor=actor)

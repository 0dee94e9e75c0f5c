"""Open311 fixtures on top of the fixed actors of gongzhi/conftest.py: a small active directory
(one category with extra fields) and two clients — a city app, and 东派出所's own system."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gongzhi.cases.models import Category, DirectoryVersion, RoutingRule
from gongzhi.open311 import services
from gongzhi.open311.models import ApiClient

BASE = "/open311/v2"
IN_A1 = {"lat": "30.05", "long": "100.05"}  # inside 东一网格 (street A)


@pytest.fixture
def directory(world):
    """06010 暴露垃圾 (routed to 东派出所 in street A) and 09009 机动车乱停放 with two extra fields."""
    DirectoryVersion.objects.filter(is_active=True).update(is_active=False)
    version = DirectoryVersion.objects.create(name="测试目录", is_active=True)
    garbage = Category.objects.create(version=version, code="06010", name="暴露垃圾", kind=Category.Kind.MATTER,
                                      major_code="06", major_name="环卫环保", keywords="垃圾 堆放")
    parking = Category.objects.create(
        version=version, code="09009", name="机动车乱停放", kind=Category.Kind.MATTER, major_code="09",
        major_name="街面秩序", extra_fields=[
            {"name": "plate", "label": "车牌号", "label_en": "Plate number", "required": True, "max_length": 12},
            {"name": "kind", "label": "车辆类型", "type": "choice", "choices": ["小汽车", "货车"]},
            {"name": "cars", "label": "车辆数", "type": "number"},
            {"name": "since", "label": "开始日期", "type": "date"}])
    RoutingRule.objects.create(category=garbage, area=world.street_a, department=world.police_a)
    return {"version": version, "garbage": garbage, "parking": parking}


@dataclass
class Keys:
    app: ApiClient
    app_key: str
    police: ApiClient
    police_key: str


@pytest.fixture
def keys(world, directory) -> Keys:
    app, app_key = services.issue_client(actor=world.admin, name="城市 App")
    police, police_key = services.issue_client(actor=world.admin, name="东派出所警务系统", department=world.police_a)
    return Keys(app, app_key, police, police_key)


def jpeg(name: str = "photo.jpg") -> SimpleUploadedFile:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 10)).save(buf, "JPEG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/jpeg")


def parse(response):
    """The body as Python: JSON as is, XML as an ElementTree root (checked to be well-formed)."""
    if response["Content-Type"].startswith("application/json"):
        return response.json()
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(response.content)


def error_codes(response) -> list[str]:
    body = parse(response)
    if isinstance(body, list):
        return [str(item["code"]) for item in body]
    assert body.tag == "errors"
    return [e.findtext("code") for e in body.findall("error")]

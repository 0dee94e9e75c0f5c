"""Importing people from xlsx/CSV: dry run by default, a bad row writes nothing (and its message is
masked), a commit creates, a re-import updates; the page's dry run → confirm with the same file."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from gongzhi.core.models import AuditLog
from gongzhi.registries import resident_import, residents
from gongzhi.registries.models import FloatingRegistration, Household, Person

ID_A = "11010119900307123" + residents.id_check_digit("11010119900307123")
ID_B = "11010119851212002" + residents.id_check_digit("11010119851212002")
ID_C = "11010120100101005" + residents.id_check_digit("11010120100101005")
HEADER = "姓名,身份证号,性别,联系电话,区域,户号,详细地址,与户主关系,人口类型,迁入日期\n"


def csv_file(*rows: str) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode("utf-8")


def good_rows(world, phone="13987650432"):
    code = world.grid_a1.code
    return (f"周一鸣,{ID_A},男,{phone},{code},1-101,东一路十八号,户主,户籍,",
            f"周小雨,{ID_B},女,,东一网格,1-101,东一路十八号,配偶,常住,",
            f"李小流,{ID_C},,13900000000,{code},,东一路二十号,,流动,2024-05-01")


def test_dry_run_writes_nothing(world):
    report = resident_import.import_people(csv_file(*good_rows(world)), actor=world.worker, filename="a.csv")
    assert report.ok and not report.committed
    assert (report.created, report.updated, report.households, report.stays) == (3, 0, 1, 1)
    assert not Person.objects.exists() and not Household.objects.exists()
    assert not AuditLog.objects.filter(action__startswith="registries.").exists()
    assert "试运行" in report.summary()


def test_a_bad_row_writes_nothing_and_its_message_is_masked(world):
    wrong = ID_A[:17] + ("0" if ID_A[17] != "0" else "1")
    rows = (*good_rows(world)[1:], f"王五,{wrong},男,12345,{world.grid_a1.code},,,,户籍,")
    report = resident_import.import_people(csv_file(*rows), actor=world.worker, commit=True, filename="a.csv")
    assert not report.ok and not report.committed and report.bad_rows == [4]
    text = "\n".join(report.error_lines())
    assert "第 4 行" in text and "1101**********" in text and wrong not in text and wrong[4:14] not in text
    assert not Person.objects.exists() and not Household.objects.exists()
    report = resident_import.import_people(
        csv_file(f"王五,{ID_A},男,1398765043299,{world.grid_a1.code},,,,户籍,"), actor=world.worker, commit=True)
    text = "\n".join(report.error_lines())
    assert "联系电话" in text and "1398765043299" not in text and "139******3299" in text
    assert not Person.objects.exists()


def test_commit_creates_and_a_reimport_updates(world):
    report = resident_import.import_people(csv_file(*good_rows(world)), actor=world.worker, commit=True)
    assert report.committed and report.created == 3
    household = Household.objects.get()
    assert set(household.members.values_list("name", flat=True)) == {"周一鸣", "周小雨"}
    floating = Person.objects.get(name="李小流")
    assert floating.residence == Person.Residence.FLOATING and floating.gender == "m"
    assert FloatingRegistration.objects.get(person=floating).moved_in_on.isoformat() == "2024-05-01"
    assert AuditLog.objects.filter(action="registries.import_people").count() == 1
    report = resident_import.import_people(csv_file(*good_rows(world, phone="13911112222")), actor=world.worker,
                                           commit=True)
    assert (report.created, report.updated, report.households, report.stays) == (0, 3, 0, 0)
    assert Person.objects.count() == 3 and Household.objects.count() == 1
    assert Person.objects.get(name="周一鸣").phone.reveal() == "13911112222"


def test_rows_refused_for_areas_ids_and_dates(world):
    rows = (f"甲,{ID_A},,,{world.grid_b1.code},,,,户籍,",  # not the worker's area
            f"乙,{ID_B},,,{world.grid_a1.code},,,,流动,",  # floating without a date
            f"丙,{ID_C},,,{world.grid_a1.code},,,,户籍,2024-01-01",  # a date for a registered resident
            f"丁,{ID_C},,,{world.grid_a1.code},,,,火星,")  # bad type
    report = resident_import.import_people(csv_file(*rows), actor=world.worker, commit=True)
    assert report.bad_rows == [2, 3, 4, 5]
    with pytest.raises(resident_import.ImportFileError):
        resident_import.import_people(b"name,phone\nx,y\n", actor=world.worker)
    with pytest.raises(resident_import.ImportFileError):
        resident_import.import_people(b"\x00\x01garbage", actor=world.worker, filename="a.xlsx")


def test_xlsx_with_an_identity_number_stored_as_a_number(world):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["周一鸣", ID_A, "男", 13987650432, world.grid_a1.code, "", "", "", "户籍", None])
    sheet.append(["周小雨", int(ID_B), "女", None, world.grid_a1.code, "", "", "", "户籍", None])
    data = io.BytesIO()
    workbook.save(data)
    report = resident_import.import_people(data.getvalue(), actor=world.worker, filename="people.xlsx")
    assert report.bad_rows == [3] and "文本格式" in report.error_lines()[0]
    assert ID_B not in "\n".join(report.error_lines())


def test_import_page_dry_run_then_confirm_with_the_same_file(world, login):
    client = login(world.worker)
    data = csv_file(*good_rows(world))
    response = client.post(reverse("registries:import"), {"file": SimpleUploadedFile("p.csv", data)})
    html = response.content.decode()
    assert response.status_code == 200 and "试运行" in html and not Person.objects.exists()
    digest = response.context["form"].initial["digest"]
    other = csv_file(*good_rows(world)[:1])
    response = client.post(reverse("registries:import"), {"file": SimpleUploadedFile("p.csv", other),
                                                           "commit": "1", "digest": digest})
    assert response.status_code == 200 and not Person.objects.exists()  # a different file: a new dry run
    response = client.post(reverse("registries:import"), {"file": SimpleUploadedFile("p.csv", data),
                                                          "commit": "1", "digest": digest})
    assert response.status_code == 302 and Person.objects.count() == 3
    bad = csv_file(f"王五,{ID_A[:17]}Z,男,,{world.grid_a1.code},,,,户籍,")
    response = client.post(reverse("registries:import"), {"file": SimpleUploadedFile("p.csv", bad)})
    assert response.status_code == 400 and ID_A[:17] not in response.content.decode()
    assert login(world.outsider).get(reverse("registries:import")).status_code == 200
    assert login(world.dispatcher).get(reverse("registries:import")).status_code == 403

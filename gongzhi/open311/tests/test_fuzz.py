"""Whatever a client sends, Open311 answers in its own format and never with a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import BASE, parse

pytestmark = pytest.mark.django_db

TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60)
GET_PARAMS = ["service_request_id", "service_code", "start_date", "end_date", "status", "page", "page_size",
              "jurisdiction_id"]
POST_FIELDS = ["service_code", "lat", "long", "address_string", "address_id", "description", "media_url",
               "attribute[plate]", "attribute[kind][]", "first_name", "email", "title", "idempotency_key"]
UPDATE_FIELDS = ["service_request_id", "update_id", "status", "updated_datetime", "description"]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _answered(response):
    assert response.status_code in (200, 201, 400, 403, 404, 429), response.content[:300]
    parse(response)  # well-formed JSON or XML


@FUZZ
@given(params=st.dictionaries(st.sampled_from(GET_PARAMS), TEXT), fmt=st.sampled_from(["json", "xml"]),
       resource=st.sampled_from(["requests", "servicerequestupdates", "services"]))
def test_get_with_anything(client, keys, params, fmt, resource):
    _answered(client.get(f"{BASE}/{resource}.{fmt}", params))


@FUZZ
@given(data=st.dictionaries(st.sampled_from(POST_FIELDS), TEXT), fmt=st.sampled_from(["json", "xml"]))
def test_post_requests_with_anything(client, keys, data, fmt):
    _answered(client.post(f"{BASE}/requests.{fmt}", {"api_key": keys.app_key, **data}))


@FUZZ
@given(data=st.dictionaries(st.sampled_from(UPDATE_FIELDS), TEXT), fmt=st.sampled_from(["json", "xml"]))
def test_post_updates_with_anything(client, keys, data, fmt):
    _answered(client.post(f"{BASE}/servicerequestupdates.{fmt}", {"api_key": keys.police_key, **data}))


@FUZZ
@given(code=st.text(st.characters(codec="utf-8", exclude_characters="\x00/.?#%"), min_size=1, max_size=40))
def test_paths_with_anything(client, keys, code):
    from urllib.parse import quote

    for path in (f"services/{quote(code)}.xml", f"requests/{quote(code)}.json", f"tokens/{quote(code)}.xml"):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code in (200, 404), (path, response.status_code)

"""Bad input anywhere in a request gets a 400 with a sentence and a stable code, never a 500."""

import json

import pytest

from tests.factories import MerchantFactory, merchant_user

pytestmark = pytest.mark.django_db


def test_a_nul_byte_in_the_authorization_header_is_a_400_not_a_server_error(client):
    response = client.get("/api/v1/studio/boards/", HTTP_AUTHORIZATION="Token abc\x00def")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "nul_byte"


@pytest.mark.parametrize("query", ["q=red%00dress", "q=shirt&category=a%00b"])
def test_a_nul_byte_in_the_query_is_refused_on_pages_and_the_api(client, query):
    api = client.get(f"/api/v1/search/?{query}")
    page = client.get(f"/search/?{query}")

    assert api.status_code == 400 and "NUL byte" in api.json()["error"]["message"]
    assert page.status_code == 400 and "NUL byte" in page.content.decode()


def test_a_nul_byte_in_a_json_or_form_body_is_refused_and_nothing_is_written(client):
    client.force_login(merchant_user(MerchantFactory()))

    as_json = client.post(
        "/api/v1/studio/boards/", json.dumps({"name": "Brief\u0000"}), "application/json"
    )
    as_form = client.post("/api/v1/studio/boards/", {"name": "Brief\x00"})

    assert as_json.status_code == as_form.status_code == 400
    assert client.get("/api/v1/studio/boards/").json() == []

"""Authentication that resists guessing: hashed expiring tokens, lockout, throttles, no Basic."""

import base64
import datetime

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from config.management.commands.demo import (
    DEMO_USER,
    demo_merchant,
    demo_user_disable,
    demo_user_enable,
)
from tests.factories import MerchantFactory, UserFactory, merchant_user

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/merchant/token/"
BOARDS = "/api/v1/studio/boards/"  # any merchant endpoint
JOBS = reverse("api-create-jobs")


def get_token(client, username, password="pw-for-tests"):
    return client.post(TOKEN, {"username": username, "password": password})


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def test_a_token_is_stored_hashed_expires_and_opens_the_merchant_api(client):
    user = merchant_user(MerchantFactory(slug="shop"), username="ann")

    answer = get_token(client, "ann").json()

    stored = AuthToken.objects.get(user=user)
    assert answer["token"] not in (stored.digest, stored.token_key)  # only a hash is kept
    assert stored.expiry - timezone.now() > datetime.timedelta(days=29)
    assert client.get(BOARDS, **bearer(answer["token"])).status_code == 200
    stored.expiry = timezone.now() - datetime.timedelta(seconds=1)
    stored.save()
    assert client.get(BOARDS, **bearer(answer["token"])).status_code == 403


def test_rotate_replaces_the_token_and_revoke_ends_it(client):
    merchant_user(MerchantFactory(), username="ann")
    first = get_token(client, "ann").json()["token"]

    second = client.post(f"{TOKEN}rotate/", **bearer(first)).json()["token"]

    assert client.get(BOARDS, **bearer(first)).status_code == 403
    assert client.get(BOARDS, **bearer(second)).status_code == 200
    assert client.post(f"{TOKEN}revoke/", **bearer(second)).status_code == 204
    assert client.get(BOARDS, **bearer(second)).status_code == 403


def test_revoke_all_ends_every_token_of_the_user_and_no_one_elses(client):
    merchant = MerchantFactory()
    merchant_user(merchant, username="ann")
    merchant_user(merchant, username="bob")
    laptop, phone = (get_token(client, "ann").json()["token"] for _ in range(2))
    bobs = get_token(client, "bob").json()["token"]

    assert client.post(f"{TOKEN}revoke-all/", **bearer(phone)).status_code == 204

    assert client.get(BOARDS, **bearer(laptop)).status_code == 403
    assert client.get(BOARDS, **bearer(bobs)).status_code == 200


def test_http_basic_auth_is_off_by_default(client):
    merchant_user(MerchantFactory(), username="ann")
    basic = base64.b64encode(b"ann:pw-for-tests").decode()

    response = client.get(BOARDS, HTTP_AUTHORIZATION=f"Basic {basic}")

    assert response.status_code == 403


def test_wrong_passwords_lock_the_token_endpoint_with_a_429_and_retry_after(client, settings):
    merchant_user(MerchantFactory(), username="ann")
    answers = [get_token(client, "ann", "wrong").status_code for _ in range(4)]

    fifth = get_token(client, "ann", "wrong")
    right_password_while_locked = get_token(client, "ann")

    assert answers == [400] * 4
    assert fifth.status_code == 429 and fifth.json()["error"]["code"] == "locked_out"
    assert int(fifth["Retry-After"]) == settings.AXES_COOLOFF_TIME * 3600
    assert right_password_while_locked.status_code == 429
    assert "try again in 15 minutes" in right_password_while_locked.json()["error"]["message"]


def test_wrong_passwords_lock_the_admin_login(client):
    UserFactory(username="staffer", is_staff=True)
    form = {"username": "staffer", "password": "wrong", "next": "/admin/"}
    answers = [client.post("/admin/login/", form).status_code for _ in range(5)]

    locked = client.post("/admin/login/", {**form, "password": "pw-for-tests"})

    assert answers[:4] == [200] * 4  # the form again, with its error
    assert locked.status_code == 429 and locked["Retry-After"]
    assert "Too many failed sign-ins" in locked.content.decode()


def test_the_token_endpoint_is_throttled_per_address_whatever_the_username(client, settings):
    settings.FIDELIS_THROTTLE_RATES = {**settings.FIDELIS_THROTTLE_RATES, "token": "3/min"}
    answers = [get_token(client, f"user{n}", "guess").status_code for n in range(4)]

    assert answers[:3] == [400] * 3 and answers[3] == 429


def test_anonymous_search_is_throttled_with_retry_after(client, settings):
    settings.FIDELIS_THROTTLE_RATES = {**settings.FIDELIS_THROTTLE_RATES, "search": "2/min"}
    answers = [client.get("/api/v1/search/", {"q": "shirt"}) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[2]
    assert refused.json()["error"]["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60


def test_create_jobs_are_throttled_per_merchant(client, settings):
    settings.FIDELIS_THROTTLE_RATES = {**settings.FIDELIS_THROTTLE_RATES, "create": "1/min"}
    client.force_login(merchant_user(MerchantFactory(slug="shop")))
    job = {"prompt": "linen shirt", "steps": 2}

    first = client.post(JOBS, job, content_type="application/json")
    second = client.post(JOBS, job, content_type="application/json")
    listing = client.get(JOBS)

    assert first.status_code == 202 and second.status_code == 429 and second["Retry-After"]
    assert listing.status_code == 200  # reading is not limited


def test_the_demo_login_exists_only_while_the_demo_serves(client):
    demo_user_enable(demo_merchant())
    token = get_token(client, DEMO_USER, "fidelis-demo").json()["token"]

    demo_user_disable()

    assert get_token(client, DEMO_USER, "fidelis-demo").status_code == 400
    assert client.get(BOARDS, **bearer(token)).status_code == 403
    sign_in = RequestFactory().post("/admin/login/")
    assert authenticate(sign_in, username=DEMO_USER, password="fidelis-demo") is None


def test_an_overlong_username_is_a_400_and_nothing_is_logged(client):
    from axes.models import AccessAttempt

    response = get_token(client, "x" * 300, "guess")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["username"]
    assert not AccessAttempt.objects.exists()

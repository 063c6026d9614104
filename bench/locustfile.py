"""Locust users for bench/load.py: shoppers (text, photo, paging) and a merchant who floods
create jobs. Every request's latency is kept and written out when locust quits, so that
bench/load.py computes exact percentiles over the shoppers' requests alone."""

import json
import os
import random
from pathlib import Path

from locust import HttpUser, between, constant, events, task

HOSTS = os.environ["FIDELIS_LOAD_HOSTS"].split(",")
PHOTOS = [Path(p).read_bytes() for p in os.environ["FIDELIS_LOAD_PHOTOS"].split(",")]
QUERIES = ["shirt", "red dress", "blue jeans", "black jacket", "summer skirt", "wool sweater",
           "white sneakers", "striped t-shirt", "linen trousers", "denim shorts"]  # fmt: skip
SAMPLES: list[tuple[str, float, int]] = []  # (name, milliseconds, status; 0 = no answer)


@events.request.add_listener
def keep(name, response_time, response, exception, **kwargs):
    status = getattr(response, "status_code", 0) or 0
    SAMPLES.append((name, response_time, 0 if exception and not status else status))


@events.quitting.add_listener
def write(environment, **kwargs):
    Path(os.environ["FIDELIS_LOAD_SAMPLES"]).write_text(json.dumps(SAMPLES))


class Shopper(HttpUser):
    host = HOSTS[0]
    wait_time = between(0.5, 1.5)  # a shopper reads the results before the next search
    _count = 0

    def on_start(self):
        Shopper._count += 1
        self.app = Shopper._count % len(HOSTS)  # spread over the app hosts
        self.client.base_url = HOSTS[self.app]

    def name(self, kind: str) -> str:
        return f"{kind} app{self.app + 1}"  # e.g. "text app1": the flood goes to app1 only

    @task(6)
    def text(self):
        params = {"q": random.choice(QUERIES)}
        self.client.get("/api/v1/search/", params=params, name=self.name("text"))

    @task(2)
    def page(self):
        # A shopper pages on only when the first page says there is more (a page past the last
        # answers 404), so the first page is a text search of its own.
        query = random.choice(QUERIES)
        first = self.client.get("/api/v1/search/", params={"q": query}, name=self.name("text"))
        pages = first.json().get("num_pages", 1) if first.status_code == 200 else 1
        if pages >= 2:
            params = {"q": query, "page": random.randint(2, min(3, pages))}
            self.client.get("/api/v1/search/", params=params, name=self.name("page"))

    @task(2)
    def photo(self):
        files = {"image": ("photo.jpg", random.choice(PHOTOS), "image/jpeg")}
        self.client.post("/api/v1/search/photo/", files=files, name=self.name("photo"))


class CreateFlood(HttpUser):
    """One merchant submitting create jobs as fast as the API takes them (202, then 429)."""

    host = HOSTS[0]
    fixed_count = 1
    wait_time = constant(0.1)

    def on_start(self):
        answer = self.client.post(
            "/api/v1/merchant/token/",
            data={
                "username": os.environ["FIDELIS_LOAD_MERCHANT"],
                "password": os.environ["FIDELIS_LOAD_PASSWORD"],
            },
            name="token",
        )
        self.client.headers["Authorization"] = f"Token {answer.json()['token']}"

    @task
    def create(self):
        prompt = {"prompt": "a linen summer dress", "seed": random.randrange(10**6)}
        with self.client.post(
            "/api/v1/create/jobs/", json=prompt, name="create", catch_response=True
        ) as answer:
            if answer.status_code == 429:
                answer.success()  # the flood is meant to hit the limits

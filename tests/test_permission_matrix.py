"""The permission matrix: every route of the URL conf (the admin's, generated from its registry,
included) x every role x its methods, checked against one declared table.

A route missing from ROUTES fails the test, so a new route cannot be forgotten. Merchant A owns
every object the routes point at (product, image, create job, concept, board); merchant B must
never reach them. Writes are sent only by roles that must be refused, and afterwards every one
of A's objects must be as it was. A 405 refuses a write as surely as a 403 and tells nothing
about the object, so it is accepted for any refused write.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from knox.models import AuthToken
from procrastinate.contrib.django.models import ProcrastinateJob

from analytics.models import SearchEvent
from catalog.models import (
    Category,
    FeedImport,
    GeneratedImage,
    Merchant,
    Product,
    ProductImage,
)
from catalog.services import (
    category_get_or_create,
    merchant_create,
    product_create_with_image,
    product_image_release,
)
from creation.boards import board_concept_add, board_create
from creation.models import Board, CreateJob
from creation.services import CreateRequest, create_job_run, create_job_submit
from retrieval.encoders import get_encoder
from retrieval.models import MerchandisingRule, Synonym
from retrieval.rules import rule_save
from retrieval.synonyms import synonym_save
from tests.conftest import dataset_photos
from tests.factories import UserFactory, merchant_user

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "shopper", "owner", "other_merchant", "staff", "superuser")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")

# Per policy: the GET status each role gets, then the status each role's writes (POST, PUT,
# PATCH, DELETE) get. None: the role may write here; its writes are covered by the feature tests
# and not sent, so that A's objects stay as they were. "owner" is merchant A on A's objects,
# "other_merchant" merchant B on A's objects, "staff" a staff user of no merchant.
#                      anonymous shopper owner other staff superuser
ALLOWED = (None,) * 6
POLICIES = {
    "public": ((200, 200, 200, 200, 200, 200), ALLOWED),
    "post_only": ((405, 405, 405, 405, 405, 405), ALLOWED),
    # The load balancer's probes: GET only, the same answer for everyone.
    "probe": ((200, 200, 200, 200, 200, 200), (405, 405, 405, 405, 405, 405)),
    "merchant": ((403, 403, 200, 200, 403, 403), (403, 403, None, None, 403, 403)),
    "merchant_object": ((403, 403, 200, 404, 403, 403), (403, 403, None, 404, 403, 403)),
    "merchant_post_only": ((403, 403, 405, 405, 403, 403), (403, 403, None, None, 403, 403)),
    "merchant_object_post_only": (
        (403, 403, 405, 405, 403, 403),
        (403, 403, None, 404, 403, 403),
    ),
    # Page actions that take only a POST: a GET is refused before anything else is checked.
    "merchant_object_action": ((405, 405, 405, 405, 405, 405), (403, 403, None, 404, 403, 403)),
    "admin_login": ((200, 200, 302, 302, 302, 302), ALLOWED),
    "admin_staff": ((302, 302, 200, 200, 200, 200), (302, 302, None, None, None, None)),
    # Logout: non-staff are sent to the index; a staff user's POST would sign it out.
    "admin_logout": ((302, 302, 405, 405, 405, 405), (302, 302, None, None, None, None)),
    # No model here has a public URL, so "view on site" finds nothing for anyone.
    "admin_view_on_site": ((302, 302, 404, 404, 404, 404), ALLOWED),
    "admin_staff_bad_request": ((302, 302, 403, 403, 403, 403), (302, 302, None, None, None, None)),
    "admin_app_catalog": ((302, 302, 200, 200, 404, 200), (302, 302, None, None, None, None)),
    "admin_catch_all": ((302, 302, 404, 404, 404, 404), (302, 302, None, None, None, None)),
    # Products: each merchant sees its own; another merchant's is "not found" (a redirect).
    # Django checks the permission before the object on change and delete, after on history.
    "admin_merchant_list": ((302, 302, 200, 200, 403, 200), (302, 302, None, None, 403, None)),
    "admin_merchant_object": ((302, 302, 200, 302, 403, 200), (302, 302, None, 302, 403, None)),
    "admin_merchant_history": ((302, 302, 200, 302, 302, 200), (302, 302, None, 302, 302, None)),
    # The shared category tree: every merchant may read it (its products pick from it).
    "admin_shared_readonly": ((302, 302, 200, 200, 403, 200), (302, 302, 403, 403, 403, None)),
    # Its list and history: a POST with no action only shows the page again (the actions a
    # merchant is offered need permissions it lacks; the snapshot proves nothing changed).
    "admin_shared_readonly_pages": (
        (302, 302, 200, 200, 403, 200),
        (302, 302, 200, 200, 403, None),
    ),
    # Staff-only models: superusers only, read-only (no add) for the guard's records.
    "admin_superuser": ((302, 302, 403, 403, 403, 200), (302, 302, 403, 403, 403, None)),
    # Never for anyone: adding the guard's records by hand, deleting its audit trail.
    # Read-only records (search analytics): a merchant opens its own; nobody writes.
    "admin_merchant_readonly_object": (
        (302, 302, 200, 302, 403, 200),
        (302, 302, 403, 403, 403, 403),
    ),
    # A page of one's own (the shop's search settings): its list sends a merchant to it.
    "admin_merchant_own_page": ((302, 302, 302, 302, 403, 200), (302, 302, None, None, 403, None)),
    # A search result opened from a page: logged, then redirected to the product, for anyone.
    "public_redirect": ((302,) * 6, (405,) * 6),
    "admin_nobody": ((302, 302, 403, 403, 403, 403), (302, 302, 403, 403, 403, 403)),
    # A feed import: shown to its merchant, edited by nobody (a write is refused before the
    # object is looked up, so the other merchant's is a 403 too).
    "admin_merchant_record": ((302, 302, 200, 302, 403, 200), (302, 302, 403, 403, 403, 403)),
    # A feed import's progress (JSON): its merchant and superusers; anyone else finds nothing.
    "admin_merchant_json": ((302, 302, 200, 404, 404, 200), ALLOWED),
    # Acts on the API token the request is signed with: a session (any role here) is refused.
    "token_only": ((403,) * 6, (403,) * 6),
}

# route -> (policy, the object its URL points at). Names are the URL names; unnamed routes
# are keyed by their pattern.
ROUTES = {
    # storefront and shopper API
    "healthz": ("probe", None),
    "readyz": ("probe", None),
    "storefront:home": ("public", None),
    "storefront:search": ("public", "text_query"),
    "storefront:search-photo": ("post_only", None),
    "storefront:product": ("public", "product"),
    "storefront:result-click": ("public_redirect", "product"),
    "api-events": ("post_only", None),
    "api-search-text": ("public", "text_query"),
    "api-search-photo": ("post_only", None),
    "api-suggest": ("public", "text_query"),
    "api-products": ("public", None),
    "api-product": ("public", "product"),
    "api-similar": ("public", "product"),
    "api-schema": ("public", None),
    "api-docs": ("public", None),
    "media": ("public", "image_file"),
    # merchant API
    "api-merchant-token": ("post_only", None),
    "api-token-rotate": ("token_only", None),
    "api-token-revoke": ("token_only", None),
    "api-token-revoke-all": ("token_only", None),
    "api-product-image-upload": ("merchant_object_post_only", "product"),
    "api-merchant-products": ("merchant", None),
    "api-merchant-products-bulk": ("merchant_post_only", None),
    "api-merchant-product": ("merchant_object", "product"),
    "api-merchant-synonyms": ("merchant", None),
    "api-merchant-synonym": ("merchant_object", "synonym"),
    "api-merchant-search-settings": ("merchant", None),
    "api-merchant-rules": ("merchant", None),
    "api-merchant-rule": ("merchant_object", "rule"),
    "api-create-jobs": ("merchant", None),
    "api-create-job": ("merchant_object", "job"),
    "api-create-cancel": ("merchant_object_post_only", "job"),
    "api-create-image": ("merchant_object", "concept"),
    "api-studio-search": ("merchant_post_only", None),
    "api-studio-job": ("merchant_object", "job"),
    "api-studio-concepts": ("merchant", None),
    "api-studio-concept": ("merchant_object", "concept"),
    "api-studio-concept-similar": ("merchant_object", "concept"),
    "api-studio-boards": ("merchant", None),
    "api-studio-board": ("merchant_object", "board"),
    "api-studio-board-concepts": ("merchant_object_post_only", "board"),
    "api-studio-board-concept": ("merchant_object_post_only", "board_concept"),
    "api-studio-board-export": ("merchant_object", "board"),
    # create and studio pages
    "creation:create": ("merchant", None),
    "creation:job": ("merchant_object", "job"),
    "creation:job-cancel": ("merchant_object_action", "job"),
    "creation:image-file": ("merchant_object", "concept"),
    "studio:studio": ("merchant", None),
    "studio:job-concepts": ("merchant_object", "job"),
    "studio:concept-similar": ("merchant_object", "concept"),
    "studio:concept-save": ("merchant_object_action", "concept"),
    "studio:boards": ("merchant", None),
    "studio:board": ("merchant_object", "board"),
    "studio:board-export": ("merchant_object", "board"),
    "studio:board-delete": ("merchant_object_action", "board"),
    "studio:board-concept-remove": ("merchant_object_action", "board_concept"),
    # the admin site
    "admin:index": ("admin_staff", None),
    "admin:login": ("admin_login", None),
    "admin:logout": ("admin_logout", None),
    "admin:password_change": ("admin_staff", None),
    "admin:password_change_done": ("admin_staff", None),
    "admin:autocomplete": ("admin_staff_bad_request", None),
    "admin:jsi18n": ("admin_staff", None),
    "admin:view_on_site": ("admin_view_on_site", "product_content"),
    "admin:app_list": ("admin_app_catalog", "app_catalog"),
    "admin/(?P<url>.*)$": ("admin_catch_all", "catch_all"),
    "admin:catalog_product_changelist": ("admin_merchant_list", None),
    "admin:catalog_product_add": ("admin_merchant_list", None),
    "admin:catalog_product_history": ("admin_merchant_history", "product"),
    "admin:catalog_product_delete": ("admin_merchant_object", "product"),
    "admin:catalog_product_change": ("admin_merchant_object", "product"),
    # Feed imports: a merchant uploads and follows its own; nobody edits one, only superusers
    # delete one.
    "admin:catalog_feedimport_changelist": ("admin_merchant_list", None),
    "admin:catalog_feedimport_add": ("admin_merchant_list", None),
    "admin:catalog_feedimport_change": ("admin_merchant_record", "feed_import"),
    "admin:catalog_feedimport_history": ("admin_merchant_history", "feed_import"),
    "admin:catalog_feedimport_delete": ("admin_superuser", "feed_import"),
    "admin:catalog_feedimport_progress": ("admin_merchant_json", "feed_import"),
    # The search dashboard: a merchant sees its own figures and events; nobody edits them.
    "admin:analytics_searchevent_changelist": ("admin_merchant_list", None),
    "admin:analytics_searchevent_export": ("admin_merchant_list", None),
    "admin:analytics_searchevent_add": ("admin_nobody", None),
    "admin:analytics_searchevent_change": ("admin_merchant_readonly_object", "search_event"),
    "admin:analytics_searchevent_history": ("admin_merchant_history", "search_event"),
    "admin:analytics_searchevent_delete": ("admin_nobody", "search_event"),
    # Synonym sets: a merchant manages its own.
    "admin:retrieval_synonym_changelist": ("admin_merchant_list", None),
    "admin:retrieval_synonym_add": ("admin_merchant_list", None),
    "admin:retrieval_synonym_history": ("admin_merchant_history", "synonym"),
    "admin:retrieval_synonym_delete": ("admin_merchant_object", "synonym"),
    "admin:retrieval_synonym_change": ("admin_merchant_object", "synonym"),
    "admin:retrieval_merchandisingrule_changelist": ("admin_merchant_list", None),
    "admin:retrieval_merchandisingrule_add": ("admin_merchant_list", None),
    "admin:retrieval_merchandisingrule_history": ("admin_merchant_history", "rule"),
    "admin:retrieval_merchandisingrule_delete": ("admin_merchant_object", "rule"),
    "admin:retrieval_merchandisingrule_change": ("admin_merchant_object", "rule"),
    "admin:retrieval_searchsettings_changelist": ("admin_merchant_own_page", None),
    "admin:retrieval_searchsettings_change": ("admin_merchant_object", "merchant"),
    "admin:retrieval_searchsettings_history": ("admin_merchant_history", "merchant"),
    "admin:retrieval_searchsettings_add": ("admin_nobody", None),
    "admin:retrieval_searchsettings_delete": ("admin_nobody", "merchant"),
}
# Models only superusers may open; (app, model) -> object kind of their change views.
SUPERUSER_ADMIN = {
    ("catalog", "category"): "category",
    ("catalog", "merchant"): "merchant",
    ("catalog", "productimage"): "image",
    ("catalog", "guardrelease"): "release",
    ("catalog", "generatedimage"): "concept",
    ("auth", "user"): "user",
    ("auth", "group"): "group",
    ("knox", "authtoken"): "token",
    ("axes", "accessattempt"): "access_attempt",
    ("axes", "accesslog"): "access_log",
    ("axes", "accessfailurelog"): "access_failure",
    ("procrastinate", "procrastinatejob"): "queue_job",
}
# Rows only services write: no add view for anyone.
NO_ADD = {
    ("axes", "accessattempt"),
    ("axes", "accesslog"),
    ("axes", "accessfailurelog"),
    ("catalog", "productimage"),
    ("catalog", "generatedimage"),
    ("procrastinate", "procrastinatejob"),
}
# Rows nobody deletes by hand: the registry and the audit trail of releases.
NO_DELETE = {
    ("catalog", "generatedimage"),
    ("catalog", "guardrelease"),
    ("procrastinate", "procrastinatejob"),
}


def superuser_admin_routes() -> dict:
    routes = {}
    for (app, model), kind in SUPERUSER_ADMIN.items():
        prefix = f"admin:{app}_{model}"
        routes[f"{prefix}_changelist"] = ("admin_superuser", None)
        add = "admin_nobody" if (app, model) in NO_ADD else "admin_superuser"
        routes[f"{prefix}_add"] = (add, None)
        delete = "admin_nobody" if (app, model) in NO_DELETE else "admin_superuser"
        routes[f"{prefix}_delete"] = (delete, kind)
        for view in ("history", "change"):
            routes[f"{prefix}_{view}"] = ("admin_superuser", kind)
    return routes


ALL_ROUTES = {
    **ROUTES,
    **superuser_admin_routes(),
    "admin:catalog_category_changelist": ("admin_shared_readonly_pages", None),
    "admin:catalog_category_history": ("admin_shared_readonly_pages", "category"),
    "admin:catalog_category_change": ("admin_shared_readonly", "category"),
    "admin:auth_user_password_change": ("admin_superuser", "user"),
}


@dataclass(frozen=True)
class Route:
    key: str
    pattern: str
    callback: object


def url_conf_routes() -> list[Route]:
    """Every route of the URL conf, with the admin's generated ones, keyed by name or pattern."""

    def walk(patterns, prefix: str, namespace: str):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = entry.namespace or namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                pattern = prefix + str(entry.pattern)
                if entry.name:
                    key = f"{namespace}:{entry.name}" if namespace else entry.name
                else:
                    key = pattern
                yield Route(key, pattern, entry.callback)

    return list(walk(get_resolver().url_patterns, "", ""))


def test_every_route_of_the_url_conf_is_in_the_matrix():
    found = {route.key for route in url_conf_routes()}
    # The admin's "<path:object_id>/" redirects to the change view it names.
    found = {key for key in found if not key.endswith("<path:object_id>/")}

    undeclared, gone = sorted(found - set(ALL_ROUTES)), sorted(set(ALL_ROUTES) - found)
    assert not undeclared, f"declare these routes in the matrix: {undeclared}"
    assert not gone, f"these routes no longer exist: {gone}"


@pytest.fixture
def world(tmp_path, settings):
    """Merchant A's objects of every kind, merchant B, and a signed-in client per role."""
    get_encoder()  # loaded, so /readyz answers "ready"
    shop_a = merchant_create(name="Shop A", slug="shop-a")
    shop_b = merchant_create(name="Shop B", slug="shop-b")
    first, second = dataset_photos(2)
    coats = category_get_or_create(slug="coats")
    product = product_create_with_image(
        merchant=shop_a,
        data=first.read_bytes(),
        title="Alpha coat",
        sku="ALPHA-1",
        price=Decimal("59.00"),
        category=coats,
    )
    theirs = product_create_with_image(
        merchant=shop_b, data=second.read_bytes(), title="Bravo cap", price=Decimal("9.00")
    )
    owner = merchant_user(shop_a)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    # A released false positive, so that the audit trail's admin has a row to open.
    theirs.images.update(guard_status=ProductImage.GuardStatus.QUARANTINED)
    release = product_image_release(image=theirs.images.get(), user=superuser, note="real photo")
    job = create_job_submit(
        merchant=shop_a, user=owner, request=CreateRequest(prompt="linen shirt", steps=2, seed=5)
    )
    create_job_run(job_id=job.pk)
    concept = GeneratedImage.objects.get(merchant=shop_a)
    board = board_create(merchant=shop_a, user=owner, name="Brief")
    board_concept_add(board=board, concept=concept)
    users = {
        "shopper": UserFactory(),
        "owner": owner,
        "other_merchant": merchant_user(shop_b),
        "staff": UserFactory(is_staff=True),
        "superuser": superuser,
    }
    # A server error is an answer to record, not an exception to stop at.
    clients = {"anonymous": Client(raise_request_exception=False)}
    for role, user in users.items():
        clients[role] = Client(raise_request_exception=False)
        clients[role].force_login(user)
    objects = {
        "product": product,
        "image": product.images.get(),
        "job": job,
        "concept": concept,
        "board": board,
        "category": coats,
        "merchant": shop_a,
        "user": owner,
        "group": Group.objects.get(name="Merchants"),
        "token": AuthToken.objects.create(user=owner)[0],
        **sign_in_records(owner.username),
        "release": release,
        "search_event": SearchEvent.objects.create(
            mode="text",
            query="coat",
            results=1,
            latency_ms=9.5,
            merchant_ids=[shop_a.pk],
            created_at=timezone.now(),
        ),
        "rule": rule_save(
            merchant=shop_a,
            name="coat-first",
            query="coat",
            action="pin",
            product=product,
            position=1,
        ),
        "synonym": synonym_save(
            merchant=shop_a, kind="one_way", terms=["coat"], synonyms=["jacket"]
        ),
        "queue_job": ProcrastinateJob.objects.first(),
        "feed_import": FeedImport.objects.create(
            merchant=shop_a, file="feeds/a.csv", status=FeedImport.Status.DONE, created_by=owner
        ),
    }
    return objects, clients


def sign_in_records(username: str) -> dict:
    """A row of each of django-axes' tables, so that their admin views have one to open."""
    where = {"username": username, "ip_address": "127.0.0.1", "user_agent": "tests"}
    return {
        "access_attempt": AccessAttempt.objects.create(
            **where, get_data="", post_data="", failures_since_start=1
        ),
        "access_log": AccessLog.objects.create(**where),
        "access_failure": AccessFailureLog.objects.create(**where, locked_out=False),
    }


def url_of(route: Route, kind: str | None, objects: dict) -> str:
    """The route's URL, pointed at merchant A's object of `kind`."""
    from django.contrib.contenttypes.models import ContentType
    from django.urls import reverse

    if kind == "text_query":
        return reverse(route.key) + "?q=coat"
    if kind == "image_file":
        return f"/media/{objects['image'].file.name}"
    if kind == "catch_all":
        return "/admin/no-such-page/"
    if kind == "app_catalog":
        return reverse(route.key, kwargs={"app_label": "catalog"})
    if kind == "product_content":
        content_type = ContentType.objects.get_for_model(Product)
        return reverse(
            route.key,
            kwargs={"content_type_id": content_type.pk, "object_id": objects["product"].pk},
        )
    if kind is None:
        return reverse(route.key)
    target = objects["board" if kind == "board_concept" else kind]
    values = {"pk": target.pk, "object_id": target.pk, "id": target.pk}
    values |= {"slug": getattr(target, "slug", ""), "concept_id": objects["concept"].pk}
    values |= {"sku": getattr(target, "sku", ""), "query_id": uuid.UUID(int=1)}
    names = re.findall(r"<(?:\w+:)?(\w+)>", route.pattern)
    return reverse(route.key, kwargs={name: values[name] for name in names})


def unsafe_methods(route: Route) -> list[str]:
    """The writes a class-based view handles; a function view is sent a POST."""
    view_class = getattr(route.callback, "view_class", None)
    if view_class is None:
        return ["POST"]
    return [m for m in UNSAFE if hasattr(view_class, m.lower())]


def test_no_role_reaches_past_its_tenant_on_any_route(world):
    objects, clients = world
    before = snapshot(objects)
    routes = {route.key: route for route in url_conf_routes()}
    wrong, checked = [], 0

    for key, (policy, kind) in ALL_ROUTES.items():
        route = routes[key]
        url = url_of(route, kind, objects)
        reads, writes = POLICIES[policy]
        for role, expected_read, expected_write in zip(ROLES, reads, writes, strict=True):
            client = clients[role]
            got = client.get(url).status_code
            checked += 1
            if got != expected_read:
                wrong.append(f"GET {url} ({key}) as {role}: {got}, expected {expected_read}")
            if expected_write is None:
                continue
            # The admin deletes only on a confirmed POST: send the confirmation.
            data = {"post": "yes"} if key.endswith("_delete") else {}
            for method in unsafe_methods(route):
                got = getattr(client, method.lower())(url, data).status_code
                checked += 1
                if got not in (expected_write, 405):
                    wrong.append(
                        f"{method} {url} ({key}) as {role}: {got}, expected {expected_write}"
                    )

    print(f"permission matrix: {len(ALL_ROUTES)} routes x {len(ROLES)} roles, {checked} requests")
    assert wrong == [], "\n".join(wrong)
    assert snapshot(objects) == before  # no refused write changed anything


def snapshot(objects: dict) -> dict:
    """What a refused write must not change: A's objects and their key fields."""
    product, board = objects["product"], objects["board"]
    return {
        "product": Product.objects.filter(pk=product.pk)
        .values("title", "is_active", "price")
        .first(),
        "images": list(
            ProductImage.objects.filter(product=product).values_list("pk", "guard_status")
        ),
        "job": CreateJob.objects.filter(pk=objects["job"].pk).values("status").first(),
        "concepts": list(
            GeneratedImage.objects.filter(merchant=objects["merchant"]).values_list("pk", flat=True)
        ),
        "board": Board.objects.filter(pk=board.pk).values("name").first(),
        "board_concepts": list(board.entries.values_list("concept_id", flat=True)),
        "synonym": Synonym.objects.filter(pk=objects["synonym"].pk).values().first(),
        "rule": MerchandisingRule.objects.filter(pk=objects["rule"].pk).values().first(),
        # Searches log new events as they should; A's own event stays as it was.
        "search_event": SearchEvent.objects.filter(pk=objects["search_event"].pk).values().first(),
        "merchant": Merchant.objects.filter(pk=objects["merchant"].pk).values().first(),
        "categories": list(Category.objects.values_list("pk", "name", "slug", "parent")),
        "feed_imports": list(FeedImport.objects.values_list("pk", "merchant_id", "status")),
        "products": list(Product.objects.values_list("pk", "merchant_id", "sku", "price")),
    }

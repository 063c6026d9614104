"""The merchant product API: a shop's own products, in Google Merchant Center's attribute names.

The same names as a feed (an item is one JSON Lines row), keyed by the shop's own `id` (SKU).
Every call is scoped to the caller's merchant: another shop's SKU is simply not found (404).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from catalog.feeds.errors import RowError
from catalog.feeds.items import item_parse
from catalog.feeds.reading import KNOWN_COLUMNS, REQUIRED_COLUMNS
from catalog.models import Product, ProductImage
from catalog.permissions import MerchantApiView
from catalog.selectors import products_with_images
from catalog.services import Upsert, product_upsert
from catalog.services.products import product_fast_change, products_fast_update
from catalog.signals import catalog_visibility_changed
from config.api_errors import ERROR_RESPONSE
from config.exception_handlers import IMAGE_ERROR_STATUS

# One bulk request upserts at most this many items: 1,000 price and stock updates took ~0.3 s
# here (bench/import.py), well inside a client's timeout; new images take far longer each.
BULK_MAX_ITEMS = 1000
PAGE_SIZE = 50
ATTRIBUTE_HELP = {
    "id": "Your SKU: unique in your shop, what every call is keyed by.",
    "title": "Required on create.",
    "price": 'Required on create, with its ISO 4217 currency: "12.90 EUR".',
    "sale_price": 'At or below the price, in its currency: "9.90 EUR"; "" removes it.',
    "availability": "in_stock, out_of_stock, preorder or backorder.",
    "quantity": "Stock count; sets availability unless you send it (0 = out_of_stock).",
    "image_link": "The main image: an http(s) URL, fetched and checked by the provenance guard.",
    "additional_image_link": "Up to 10 more image URLs (a list, or comma-separated).",
    "gtin": "8, 12, 13 or 14 digits with a valid check digit.",
    "condition": "new, refurbished or used.",
    "item_group_id": "Variants of one item (its colours and sizes) share it.",
    "product_type": 'Your category path, "Apparel > Dresses": its last step is the category.',
}
ITEM = inline_serializer(
    "MerchantProductItem",
    {
        name: serializers.CharField(
            required=name in REQUIRED_COLUMNS, help_text=ATTRIBUTE_HELP.get(name, "")
        )
        for name in KNOWN_COLUMNS
    },
)
ITEM_EXAMPLE = {
    "id": "TEE-NAVY-M",
    "title": "Organic Cotton T-Shirt, Navy",
    "description": "Heavy jersey, relaxed fit.",
    "price": "24.90 EUR",
    "sale_price": "19.90 EUR",
    "quantity": 12,
    "brand": "Northwind",
    "color": "Navy",
    "size": "M",
    "material": "Organic cotton",
    "gtin": "4006381333931",
    "item_group_id": "TEE-ORGANIC",
    "product_type": "Apparel > T-Shirts",
    "image_link": "https://images.example.com/tee-navy-front.jpg",
    "additional_image_link": ["https://images.example.com/tee-navy-back.jpg"],
}


class MerchantProductOutput(serializers.Serializer):
    id = serializers.CharField(source="sku", help_text=ATTRIBUTE_HELP["id"])
    product_id = serializers.IntegerField(source="pk", help_text="Fidelis' number for it.")
    title = serializers.CharField()
    description = serializers.CharField()
    link = serializers.CharField()
    price = serializers.CharField()
    sale_price = serializers.CharField(allow_null=True)
    availability = serializers.CharField()
    quantity = serializers.IntegerField(source="stock_quantity")
    brand = serializers.CharField()
    color = serializers.CharField()
    size = serializers.CharField()
    material = serializers.CharField()
    gtin = serializers.CharField()
    condition = serializers.CharField()
    item_group_id = serializers.CharField()
    product_type = serializers.CharField()
    images = serializers.ListField(child=serializers.DictField(), help_text="In order.")
    shown = serializers.BooleanField(help_text="Whether shoppers can find it.")
    updated_at = serializers.DateTimeField()

    def to_representation(self, product: Product) -> dict:
        images = list(product.images.all())
        return {
            "id": product.sku,
            "product_id": product.pk,
            "title": product.title,
            "description": product.description,
            "link": product.link,
            "price": f"{product.price:.2f} {product.currency}",
            "sale_price": None
            if product.sale_price is None
            else f"{product.sale_price:.2f} {product.currency}",
            "availability": product.availability,
            "quantity": product.stock_quantity,
            "brand": product.brand,
            "color": product.color,
            "size": product.size,
            "material": product.material,
            "gtin": product.gtin,
            "condition": product.condition,
            "item_group_id": product.item_group_id,
            "product_type": product.product_type,
            "images": [
                {
                    "url": image.file.url,
                    "source": image.source,
                    "guard_status": image.guard_status,
                    "position": image.position,
                }
                for image in images
            ],
            "shown": product.is_active
            and any(i.guard_status == ProductImage.GuardStatus.PASSED for i in images),
            "updated_at": product.updated_at,
        }


def _refused(errors: list[RowError]) -> exceptions.ValidationError:
    fields: dict[str, list] = {}
    for error in errors:
        fields.setdefault(error.field or "detail", []).append(
            ErrorDetail(error.message, error.code)
        )
    refusal = exceptions.ValidationError(fields)
    refusal.status_code = next(
        (IMAGE_ERROR_STATUS[e.code] for e in errors if e.code in IMAGE_ERROR_STATUS),
        status.HTTP_400_BAD_REQUEST,
    )
    return refusal


def _unknown_attributes(values: dict) -> str | None:
    unknown = sorted(set(values) - set(KNOWN_COLUMNS))
    if not unknown:
        return None
    return f"Unknown attribute(s): {', '.join(unknown)}. Known: {', '.join(KNOWN_COLUMNS)}."


def _item_values(data) -> dict:
    if not isinstance(data, dict):
        raise exceptions.ValidationError(
            {"detail": ErrorDetail("Send one JSON object of attributes.", "not_an_object")}
        )
    unknown = _unknown_attributes(data)
    if unknown:
        raise exceptions.ValidationError({"detail": ErrorDetail(unknown, "unknown_attribute")})
    return dict(data)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "exists"


class MerchantProductListApi(MerchantApiView):
    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "page", OpenApiTypes.INT, description=f"{PAGE_SIZE} per page, from 1."
            ),
            OpenApiParameter(
                "item_group_id", OpenApiTypes.STR, description="Only this group's variants."
            ),
        ],
        responses={
            200: inline_serializer(
                "MerchantProductPage",
                {
                    "results": MerchantProductOutput(many=True),
                    "next_page": serializers.IntegerField(allow_null=True),
                },
            ),
            400: ERROR_RESPONSE,
        },
        summary="Your products, by SKU",
        operation_id="v1_merchant_products_list",
    )
    def get(self, request):
        products = Product.objects.for_merchant(self.merchant).exclude(sku="").order_by("sku")
        group = request.query_params.get("item_group_id")
        if group:
            products = products.filter(item_group_id=group)
        page = request.query_params.get("page", "1")
        if not page.isdigit() or not 1 <= int(page) <= 10**6:
            message = "page must be a whole number from 1."
            raise exceptions.ValidationError({"page": ErrorDetail(message, "invalid_page")})
        start = (int(page) - 1) * PAGE_SIZE
        rows = list(products_with_images(products)[start : start + PAGE_SIZE + 1])
        return Response(
            {
                "results": MerchantProductOutput(rows[:PAGE_SIZE], many=True).data,
                "next_page": int(page) + 1 if len(rows) > PAGE_SIZE else None,
            }
        )

    @extend_schema(
        request=ITEM,
        responses={
            201: MerchantProductOutput,
            400: ERROR_RESPONSE,
            409: ERROR_RESPONSE,
            422: ERROR_RESPONSE,
        },
        examples=[OpenApiExample("A t-shirt", ITEM_EXAMPLE, request_only=True)],
        summary="Create a product (its image URLs fetched and checked by the provenance guard)",
    )
    def post(self, request):
        values = _item_values(request.data)
        sku = str(values.get("id", "")).strip()
        if sku and Product.objects.filter(merchant=self.merchant, sku=sku).exists():
            raise Conflict(
                f"You already have a product {sku}: PUT or PATCH it, or use the bulk upsert."
            )
        # A new product: id, title and price are required (a full parse).
        outcome = product_upsert(merchant=self.merchant, item=item_parse(values, partial=False))
        if outcome.action == "failed":
            raise _refused(outcome.errors)
        return Response(_shown(outcome.product), status=status.HTTP_201_CREATED)


def _shown(product: Product) -> dict:
    return MerchantProductOutput(
        products_with_images(Product.objects.filter(pk=product.pk)).get()
    ).data


SKU_PARAMETER = OpenApiParameter(
    "sku",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description='Your SKU (the item\'s id), percent-encoded: a "/" in it is sent as %2F.',
)


class MerchantProductApi(MerchantApiView):
    parser_classes = [JSONParser]

    def _product(self, sku: str) -> Product:
        return get_object_or_404(
            products_with_images(Product.objects.for_merchant(self.merchant)), sku=sku
        )

    @extend_schema(
        parameters=[SKU_PARAMETER],
        responses={200: MerchantProductOutput, 404: ERROR_RESPONSE},
        summary="One of your products",
    )
    def get(self, request, sku: str):
        return Response(MerchantProductOutput(self._product(sku)).data)

    @extend_schema(
        parameters=[SKU_PARAMETER],
        request=ITEM,
        responses={200: MerchantProductOutput, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE},
        examples=[OpenApiExample("A t-shirt", ITEM_EXAMPLE, request_only=True)],
        summary="Replace a product's attributes (those you leave out are cleared; its images "
        "change only when you send image_link)",
    )
    def put(self, request, sku: str):
        product = self._product(sku)
        values = _item_values(request.data)
        cleared = {
            name: ""
            for name in KNOWN_COLUMNS
            if name not in ("image_link", "additional_image_link")
        }
        return self._change(product, cleared | values | {"id": sku}, full=True)

    @extend_schema(
        parameters=[SKU_PARAMETER],
        request=ITEM,
        responses={200: MerchantProductOutput, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE},
        examples=[
            OpenApiExample("A new price", {"price": "19.90 EUR"}, request_only=True),
            OpenApiExample("Sold out", {"quantity": 0}, request_only=True),
        ],
        summary="Change some of a product's attributes (a price or stock change is instant)",
    )
    def patch(self, request, sku: str):
        product = self._product(sku)
        values = _item_values(request.data)
        return self._change(product, values | {"id": sku}, full=False)

    def _change(self, product: Product, values: dict, *, full: bool) -> Response:
        if str(values["id"]).strip() != product.sku:
            raise exceptions.ValidationError(
                {
                    "id": ErrorDetail(
                        "The id is the SKU in the URL: it cannot change.", "id_mismatch"
                    )
                }
            )
        item = item_parse(values, partial=not full)
        outcome = product_upsert(merchant=self.merchant, item=item, existing=product)
        if outcome.action == "failed":
            raise _refused(outcome.errors)
        if outcome.action == "updated":
            catalog_visibility_changed.send(sender=Product)
        return Response(_shown(product))

    @extend_schema(
        parameters=[SKU_PARAMETER],
        request=None,
        responses={204: None, 404: ERROR_RESPONSE},
        summary="Delete a product and its images",
    )
    def delete(self, request, sku: str):
        self._product(sku).delete()
        catalog_visibility_changed.send(sender=Product)
        return Response(status=status.HTTP_204_NO_CONTENT)


BULK_REQUEST = inline_serializer(
    "MerchantProductBulk", {"items": serializers.ListField(child=ITEM, max_length=BULK_MAX_ITEMS)}
)
BULK_RESULT = inline_serializer(
    "MerchantProductBulkResult",
    {
        "results": serializers.ListField(
            child=inline_serializer(
                "MerchantProductBulkItem",
                {
                    "id": serializers.CharField(),
                    "status": serializers.ChoiceField(
                        ["created", "updated", "unchanged", "failed"]
                    ),
                    "errors": serializers.ListField(child=serializers.DictField()),
                },
            )
        ),
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "failed": serializers.IntegerField(),
    },
)


class MerchantProductBulkApi(MerchantApiView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=BULK_REQUEST,
        responses={200: BULK_RESULT, 400: ERROR_RESPONSE},
        examples=[
            OpenApiExample(
                "Prices and stock",
                {
                    "items": [
                        {"id": "TEE-NAVY-M", "price": "19.90 EUR"},
                        {"id": "TEE-NAVY-L", "quantity": 0},
                    ]
                },
                request_only=True,
            )
        ],
        summary=f"Create or change up to {BULK_MAX_ITEMS} products by SKU, each on its own",
        description="Idempotent: sending the same items again changes nothing. An item for a "
        "SKU you have changes only the attributes it sends; one for a new SKU needs id, "
        "title and price. Items that change only prices, sale prices, stock or availability "
        "are written together in one statement, and show in search at once. A failed item "
        "is reported with its errors and changes nothing; the others go on.",
    )
    def post(self, request):
        items = request.data.get("items") if isinstance(request.data, dict) else None
        if not isinstance(items, list) or not items:
            raise exceptions.ValidationError(
                {"items": ErrorDetail('Send {"items": [...]}, a list of products.', "no_items")}
            )
        if len(items) > BULK_MAX_ITEMS:
            message = f"{len(items)} items: send at most {BULK_MAX_ITEMS} per request."
            raise exceptions.ValidationError({"items": ErrorDetail(message, "too_many_items")})
        skus = [str(item.get("id", "")).strip() for item in items if isinstance(item, dict)]
        existing = {
            p.sku: p
            for p in products_with_images(
                Product.objects.for_merchant(self.merchant).filter(sku__in=skus)
            )
        }
        results, fast, seen = [], [], set()
        for values in items:
            sku, outcome = self._one(values, existing, seen, fast)
            results.append((sku, outcome))
        if fast:
            products_fast_update(products=fast)
        visible_change = any(o.action in ("created", "updated") for _, o in results)
        if visible_change:
            catalog_visibility_changed.send(sender=Product)
        counts = {action: 0 for action in ("created", "updated", "unchanged", "failed")}
        for _, outcome in results:
            counts[outcome.action] += 1
        body = [
            {"id": sku, "status": o.action, "errors": [_error(e) for e in o.errors]}
            for sku, o in results
        ]
        return Response({"results": body, **counts})

    def _one(self, values, existing: dict, seen: set, fast: list) -> tuple[str, Upsert]:
        if not isinstance(values, dict):
            error = RowError(
                0, "", "Each item must be a JSON object of attributes.", "not_an_object"
            )
            return "", Upsert("", "failed", errors=[error])
        sku = str(values.get("id", "")).strip()
        unknown = _unknown_attributes(values)
        if unknown:
            return sku, Upsert(
                sku, "failed", errors=[RowError(0, "", unknown, "unknown_attribute")]
            )
        if sku in seen:
            message = f"id {sku} appears twice in this request."
            return sku, Upsert(sku, "failed", errors=[RowError(0, "id", message, "duplicate_id")])
        seen.add(sku)
        product = existing.get(sku)
        # A known SKU changes what the item sends; a new one needs id, title and price.
        item = item_parse(values, partial=product is not None)
        outcome = product_fast_change(product=product, item=item) if product else None
        if outcome is None:
            return sku, product_upsert(
                merchant=self.merchant, item=item, existing=product, looked_up=True
            )
        if outcome.action == "updated":
            fast.append(product)
        return sku, outcome


def _error(error: RowError) -> dict:
    return {"field": error.field, "message": error.message, "code": error.code}

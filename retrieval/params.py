"""Validating shopper search parameters (shared by the JSON API and the storefront pages)."""

from __future__ import annotations

from rest_framework import exceptions, serializers

from catalog.models import Category
from config.api_errors import reject_unknown
from retrieval.filters import SearchFilters
from retrieval.search import PAGE_SIZE

# Parameters that would make search improvise. Strict fidelity is not a shopper option.
CREATION_PARAMETERS = {"fidelity", "mode", "strength", "creativity", "generate", "guidance"}


class CreationIsMerchantOnly(exceptions.APIException):
    status_code = 400
    default_code = "creation_is_merchant_only"
    default_detail = (
        "Creation is a merchant-only studio feature: shopper search always returns real "
        "catalog products, and no parameter changes that."
    )


def reject_unexpected(names, allowed: set[str]) -> None:
    names = set(names)
    if names & CREATION_PARAMETERS:
        raise CreationIsMerchantOnly()
    reject_unknown(names, allowed)


class FilterParams(serializers.Serializer):
    category = serializers.ListField(child=serializers.SlugField(), required=False, default=list)
    price_min = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False
    )
    price_max = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False
    )
    in_stock = serializers.BooleanField(required=False, default=False)
    page = serializers.IntegerField(min_value=1, required=False, default=1)
    page_size = serializers.IntegerField(
        min_value=1, max_value=100, required=False, default=PAGE_SIZE
    )

    def validate_category(self, slugs: list[str]) -> list[str]:
        if not slugs:
            return slugs
        known = set(Category.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        unknown = sorted(set(slugs) - known)
        if unknown:
            raise serializers.ValidationError(
                f"Unknown category: {', '.join(unknown)}.", code="unknown_category"
            )
        return slugs

    def validate(self, attrs: dict) -> dict:
        low, high = attrs.get("price_min"), attrs.get("price_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError(
                {"price_max": f"price_max ({high}) is below price_min ({low})."},
                code="reversed_price_range",
            )
        return attrs

    def filters(self) -> SearchFilters:
        data = self.validated_data
        return SearchFilters(
            categories=tuple(data["category"]),
            price_min=data.get("price_min"),
            price_max=data.get("price_max"),
            in_stock=data["in_stock"],
        )


class TextSearchParams(FilterParams):
    q = serializers.CharField(max_length=200, trim_whitespace=True)


def parse(serializer_class: type[FilterParams], data, *, extra_allowed: set[str] = frozenset()):
    """Validate request parameters; raise a 400 for anything unknown, invalid or creative."""
    serializer = serializer_class(data=data)
    reject_unexpected(data.keys(), set(serializer.fields) | set(extra_allowed))
    serializer.is_valid(raise_exception=True)
    return serializer

"""A merchant's search settings over the API: synonym sets (/api/v1/merchant/synonyms/),
merchandising rules (/api/v1/merchant/rules/) and where out-of-stock products go
(/api/v1/merchant/search-settings/).

Scoped to the caller's merchant: another shop's set is simply not found (404).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from catalog.models import OutOfStockResults, Product
from catalog.permissions import MerchantApiView
from config.api_errors import ERROR_RESPONSE
from retrieval.models import MerchandisingRule as Rule
from retrieval.models import Synonym
from retrieval.rules import MAX_PIN_POSITION, rule_save
from retrieval.synonyms import MAX_TERMS, synonym_save


class SynonymSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(
        choices=Synonym.Kind.choices,
        help_text="one_way: `terms` also find `synonyms`. equivalent: each of `terms` finds "
        "the others.",
    )
    terms = serializers.ListField(
        child=serializers.CharField(max_length=200),
        help_text=f"What shoppers type: words or phrases of up to 3 words, at most {MAX_TERMS}.",
    )
    synonyms = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        default=list,
        help_text=f"one_way only: what the terms also find, at most {MAX_TERMS}.",
    )


EXAMPLES = [
    OpenApiExample(
        "One-way", value={"kind": "one_way", "terms": ["jeans"], "synonyms": ["trousers"]}
    ),
    OpenApiExample("Multi-way", value={"kind": "equivalent", "terms": ["sneakers", "trainers"]}),
]


def _output(synonym: Synonym) -> dict:
    return {
        "id": synonym.pk,
        "kind": synonym.kind,
        "terms": synonym.terms,
        "synonyms": synonym.synonyms,
    }


class SynonymListApi(MerchantApiView):
    @extend_schema(responses=SynonymSerializer(many=True), description="Your synonym sets.")
    def get(self, request):
        return Response([_output(s) for s in self.merchant.synonyms.order_by("id")])

    @extend_schema(
        request=SynonymSerializer,
        responses={201: SynonymSerializer, 400: ERROR_RESPONSE},
        examples=EXAMPLES,
        description="Add a synonym set; it applies to your products at the next search.",
    )
    def post(self, request):
        data = _valid(request.data)
        synonym = synonym_save(merchant=self.merchant, **data)
        return Response(_output(synonym), status=status.HTTP_201_CREATED)


class SynonymApi(MerchantApiView):
    def _own(self, pk: int) -> Synonym:
        return get_object_or_404(Synonym, pk=pk, merchant=self.merchant)

    @extend_schema(responses=SynonymSerializer)
    def get(self, request, pk: int):
        return Response(_output(self._own(pk)))

    @extend_schema(
        request=SynonymSerializer, responses={200: SynonymSerializer, 400: ERROR_RESPONSE}
    )
    def put(self, request, pk: int):
        synonym = self._own(pk)
        data = _valid(request.data)
        return Response(_output(synonym_save(merchant=self.merchant, instance=synonym, **data)))

    @extend_schema(
        request=SynonymSerializer, responses={200: SynonymSerializer, 400: ERROR_RESPONSE}
    )
    def patch(self, request, pk: int):
        synonym = self._own(pk)
        data = _valid(request.data, partial=True)
        merged = {"kind": synonym.kind, "terms": synonym.terms, "synonyms": synonym.synonyms}
        merged |= data
        return Response(_output(synonym_save(merchant=self.merchant, instance=synonym, **merged)))

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        self._own(pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


def _valid(data, *, partial: bool = False) -> dict:
    serializer = SynonymSerializer(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class SearchSettingsSerializer(serializers.Serializer):
    out_of_stock_results = serializers.ChoiceField(
        choices=OutOfStockResults.choices,
        help_text="hide, last (the default: after the products in stock) or unchanged.",
    )


class SearchSettingsApi(MerchantApiView):
    @extend_schema(responses=SearchSettingsSerializer)
    def get(self, request):
        return Response({"out_of_stock_results": self.merchant.out_of_stock_results})

    @extend_schema(
        request=SearchSettingsSerializer,
        responses={200: SearchSettingsSerializer, 400: ERROR_RESPONSE},
    )
    def patch(self, request):
        serializer = SearchSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        merchant = self.merchant
        merchant.out_of_stock_results = serializer.validated_data["out_of_stock_results"]
        merchant.save(update_fields=["out_of_stock_results"])
        return Response({"out_of_stock_results": merchant.out_of_stock_results})


class RuleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=100, help_text="Named in search signals: rule:NAME.")
    match = serializers.ChoiceField(
        choices=Rule.Match.choices, default=Rule.Match.EXACT, help_text="exact or contains."
    )
    query = serializers.CharField(max_length=200)
    action = serializers.ChoiceField(choices=Rule.Action.choices)
    sku = serializers.CharField(
        required=False, allow_blank=True, help_text="pin and hide: your product's SKU."
    )
    position = serializers.IntegerField(
        required=False, allow_null=True, help_text=f"pin: 1 to {MAX_PIN_POSITION}."
    )
    attribute = serializers.ChoiceField(
        choices=Rule.Attribute.choices, required=False, allow_blank=True, help_text="boost, bury."
    )
    value = serializers.CharField(
        required=False, allow_blank=True, help_text="boost, bury: a category slug or a brand."
    )
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)


RULE_EXAMPLES = [
    OpenApiExample(
        "Pin",
        value={
            "name": "summer-dress",
            "query": "dress",
            "action": "pin",
            "sku": "DR-1",
            "position": 1,
        },
    ),
    OpenApiExample(
        "Boost a brand for a week",
        value={
            "name": "sale-week",
            "match": "contains",
            "query": "shirt",
            "action": "boost",
            "attribute": "brand",
            "value": "Alder",
            "starts_at": "2026-12-01T00:00:00Z",
            "ends_at": "2026-12-08T00:00:00Z",
        },
    ),
]
RULE_FIELDS = ("name", "match", "query", "action", "position", "attribute", "value")


def _rule_output(rule: Rule) -> dict:
    out = {"id": rule.pk, **{name: getattr(rule, name) for name in RULE_FIELDS}}
    out["sku"] = rule.product.sku if rule.product_id else ""
    out["starts_at"] = rule.starts_at and rule.starts_at.isoformat()
    out["ends_at"] = rule.ends_at and rule.ends_at.isoformat()
    return out


def _rule_fields(merchant, data: dict) -> dict:
    """Validated API fields as model fields: the SKU becomes the merchant's own product."""
    fields = {name: data[name] for name in (*RULE_FIELDS, "starts_at", "ends_at") if name in data}
    if "sku" in data:
        product = Product.objects.filter(merchant=merchant, sku=data["sku"]).first()
        if data["sku"] and product is None:
            raise serializers.ValidationError(
                {"sku": f"You have no product with the SKU {data['sku']!r}."},
                code="rule_product_not_yours",
            )
        fields["product"] = product
    return fields


class RuleListApi(MerchantApiView):
    @extend_schema(responses=RuleSerializer(many=True), description="Your merchandising rules.")
    def get(self, request):
        rules = self.merchant.merchandising_rules.select_related("product").order_by("id")
        return Response([_rule_output(rule) for rule in rules])

    @extend_schema(
        request=RuleSerializer,
        responses={201: RuleSerializer, 400: ERROR_RESPONSE},
        examples=RULE_EXAMPLES,
        description="Add a rule; it applies from the next search (within its start and end).",
    )
    def post(self, request):
        serializer = RuleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = rule_save(
            merchant=self.merchant, **_rule_fields(self.merchant, serializer.validated_data)
        )
        return Response(_rule_output(rule), status=status.HTTP_201_CREATED)


class RuleApi(MerchantApiView):
    def _own(self, pk: int) -> Rule:
        return get_object_or_404(
            Rule.objects.select_related("product"), pk=pk, merchant=self.merchant
        )

    @extend_schema(responses=RuleSerializer)
    def get(self, request, pk: int):
        return Response(_rule_output(self._own(pk)))

    @extend_schema(request=RuleSerializer, responses={200: RuleSerializer, 400: ERROR_RESPONSE})
    def patch(self, request, pk: int):
        rule = self._own(pk)
        serializer = RuleSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields = _rule_fields(self.merchant, serializer.validated_data)
        return Response(_rule_output(rule_save(merchant=self.merchant, instance=rule, **fields)))

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        self._own(pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

"""Merchandising rules: checked on save, found for a query, applied to its results.

A rule acts only on its own merchant's products, and only after strict fidelity: a pinned
product is shown only while it is searchable and passes the shopper's filters, so no rule can
bring a hidden product in. Pins, boosts and burials shape the relevance order (a shopper who
sorts by price gets prices); hides act under every sort. Each hit a rule moved carries
"rule:<name>" in its signals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.models import Category, Merchant, Product
from catalog.selectors import products_searchable
from config.replicas import read_connection
from retrieval.models import MerchandisingRule

Rule = MerchandisingRule
_WORD = re.compile(r"[\w-]+")
MAX_PIN_POSITION = 48


def normalised_query(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def rule_save(*, merchant: Merchant, instance: Rule | None = None, **fields) -> Rule:
    """Create or change a rule; a ValidationError (with a code) says what is wrong."""
    rule = instance or Rule(merchant=merchant)
    for name, value in fields.items():
        setattr(rule, name, value)
    rule_check(rule)
    rule.save()
    return rule


def rule_check(rule: Rule) -> None:
    """Everything a rule must hold before it is saved; normalises its query."""
    rule.query = normalised_query(rule.query or "")
    rule.words = rule.query.split()
    if not rule.query:
        raise ValidationError("query: give the words the rule is for.", code="rule_no_query")
    if not (rule.name or "").strip():
        raise ValidationError("name: name the rule; search signals show it.", code="rule_no_name")
    if rule.starts_at and rule.ends_at and rule.ends_at <= rule.starts_at:
        raise ValidationError(
            f"ends_at ({rule.ends_at:%Y-%m-%d %H:%M}) is not after starts_at "
            f"({rule.starts_at:%Y-%m-%d %H:%M}).",
            code="rule_ends_before_it_starts",
        )
    if rule.action in (Rule.Action.PIN, Rule.Action.HIDE):
        _check_product(rule)
        rule.attribute, rule.value = "", ""
        if rule.action == Rule.Action.PIN and not (
            rule.position and 1 <= rule.position <= MAX_PIN_POSITION
        ):
            raise ValidationError(
                f"position: a pin needs a position from 1 to {MAX_PIN_POSITION}.",
                code="rule_bad_position",
            )
        if rule.action == Rule.Action.HIDE:
            rule.position = None
    elif rule.action in (Rule.Action.BOOST, Rule.Action.BURY):
        rule.product, rule.position = None, None
        _check_attribute(rule)
    else:
        raise ValidationError(
            f"action must be one of {', '.join(Rule.Action.values)}.", code="invalid_choice"
        )


def _check_product(rule: Rule) -> None:
    product = rule.product
    if product is None or product.merchant_id != rule.merchant_id:
        raise ValidationError(
            "product: a rule can pin or hide only one of your own products.",
            code="rule_product_not_yours",
        )
    if rule.action == Rule.Action.PIN and not products_searchable().filter(pk=product.pk).exists():
        raise ValidationError(
            f"product: “{product.title}” is not shown to shoppers (inactive, or no image passed "
            "the provenance guard), so it cannot be pinned.",
            code="rule_product_hidden",
        )


def _check_attribute(rule: Rule) -> None:
    if rule.attribute not in Rule.Attribute.values:
        raise ValidationError(
            f"attribute must be one of {', '.join(Rule.Attribute.values)}.",
            code="rule_bad_attribute",
        )
    if rule.attribute == Rule.Attribute.IN_STOCK:
        rule.value = ""
    elif rule.attribute == Rule.Attribute.CATEGORY:
        if not Category.objects.filter(slug=rule.value).exists():
            raise ValidationError(
                f"value: no category {rule.value!r}.", code="rule_unknown_category"
            )
    elif not Product.objects.filter(merchant_id=rule.merchant_id, brand=rule.value).exists():
        raise ValidationError(
            f"value: none of your products has the brand {rule.value!r}.",
            code="rule_unknown_brand",
        )


@dataclass(frozen=True)
class ActiveRule:
    name: str
    merchant_id: int
    action: str
    product_id: int | None
    position: int | None
    attribute: str
    value: str


_RULES_SQL = """
SELECT name, merchant_id, action, product_id, position, attribute, value
FROM retrieval_merchandisingrule
WHERE ((match = 'exact' AND query = ANY(%s)) OR (match = 'contains' AND words <@ %s::varchar[]))
  AND (starts_at IS NULL OR starts_at <= %s) AND (ends_at IS NULL OR ends_at > %s)
ORDER BY id
"""


def rules_for(texts: Sequence[str], words: Sequence[str]) -> tuple[ActiveRule, ...]:
    """The rules in force now for a query typed as `texts` (as typed, corrected)."""
    now = timezone.now()
    queries = sorted({normalised_query(text) for text in texts} - {""})
    if not queries:
        return ()
    with read_connection().cursor() as cursor:
        cursor.execute(_RULES_SQL, [queries, list(words), now, now])
        return tuple(ActiveRule(*row) for row in cursor.fetchall())


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[ActiveRule, ...] = ()

    def of(self, action: str) -> list[ActiveRule]:
        return [rule for rule in self.rules if rule.action == action]

    @property
    def hidden(self) -> set[int]:
        return {rule.product_id for rule in self.of(Rule.Action.HIDE)}

    @property
    def pins(self) -> dict[int, ActiveRule]:
        """{product id: its pin}; the first rule wins a product, and a position."""
        pins, positions, hidden = {}, set(), self.hidden
        for rule in self.of(Rule.Action.PIN):
            taken = rule.product_id in pins or rule.position in positions
            if not taken and rule.product_id not in hidden:
                pins[rule.product_id] = rule
                positions.add(rule.position)
        return pins

    def lift(self, match) -> tuple[int, tuple[str, ...]]:
        """(-1 boosted, 0, +1 buried) and the rule that did it: the oldest rule that acts."""
        for rule in self.rules:
            acts = rule.action in (Rule.Action.BOOST, Rule.Action.BURY)
            if acts and rule.merchant_id == match.merchant_id and _carries(match, rule):
                return (-1 if rule.action == Rule.Action.BOOST else 1), (f"rule:{rule.name}",)
        return 0, ()


def _carries(match, rule: ActiveRule) -> bool:
    if rule.attribute == Rule.Attribute.IN_STOCK:
        return match.in_stock
    if rule.attribute == Rule.Attribute.CATEGORY:
        return match.category == rule.value
    return match.brand == rule.value


def searchable_pins(rules: RuleSet, products_sql: tuple[str, tuple]) -> dict[int, ActiveRule]:
    """The pins whose product is searchable and passes the shopper's filters right now."""
    pins = rules.pins
    if not pins:
        return {}
    products, params = products_sql
    with read_connection().cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM catalog_product WHERE id = ANY(%s) AND id IN ({products})",
            [list(pins), *params],
        )
        shown = {row[0] for row in cursor.fetchall()}
    return {pk: rule for pk, rule in pins.items() if pk in shown}

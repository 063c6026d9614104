"""From a ranked match set to what a shopper sees: stock rule, facet selection, variants, sort.

The match set is small (at most the keyword half's and the vector half's candidates), so one
statement reads the attributes of every match and the rest is done here: facet counts that
leave each facet's own selection out (ticking a colour keeps the other colours on offer),
variants folded into one tile per `item_group_id`, and the sort.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from catalog.models import OutOfStockResults
from config.replicas import read_connection
from retrieval.fusion import FusedHit
from retrieval.rules import RuleSet, searchable_pins

SORTS = {
    "relevance": "Best match",
    "price_asc": "Price, low to high",
    "price_desc": "Price, high to low",
    "newest": "Newest",
}
# Facets a shopper ticks; OR within a facet, AND across facets.
FACETS = ("category", "brand", "color", "size")

NO_RULES = RuleSet()
# (label, low inclusive, high exclusive); None = open-ended.
PRICE_BANDS: list[tuple[str, Decimal | None, Decimal | None]] = [
    ("under 25", None, Decimal(25)),
    ("25 to 50", Decimal(25), Decimal(50)),
    ("50 to 100", Decimal(50), Decimal(100)),
    ("100 to 200", Decimal(100), Decimal(200)),
    ("200 and over", Decimal(200), None),
]

# created_at as epoch seconds: only the "newest" sort reads it, and a float decodes in a
# fraction of a timestamptz's time (a few hundred rows a search).
_MATCH_COLUMNS = """product.id, category.slug, category.name, product.brand, product.color,
  product.size, product.price, extract(epoch FROM product.created_at)::float8,
  product.availability <> 'in_stock',
  merchant.out_of_stock_results, product.merchant_id, product.item_group_id"""
_MATCH_JOINS = """JOIN catalog_merchant AS merchant ON merchant.id = product.merchant_id
LEFT JOIN catalog_category AS category ON category.id = product.category_id"""
_MATCHES_SQL = f"""
SELECT {_MATCH_COLUMNS}
FROM catalog_product AS product
{_MATCH_JOINS}
WHERE product.id = ANY(%s)
"""


def match_rows_around(ranked_sql: str) -> str:
    """SQL that gives (score, *match row) for each (id, score) row of `ranked_sql`: a ranking
    and what arranging reads of its products in one statement (one round trip less)."""
    return f"""
SELECT ranked.score, {_MATCH_COLUMNS}
FROM ({ranked_sql}) AS ranked(id, score)
JOIN catalog_product AS product ON product.id = ranked.id
{_MATCH_JOINS}
"""


@dataclass(frozen=True)
class Selection:
    """Facet values the shopper ticked: {facet: values}; an empty facet selects everything."""

    values: dict[str, frozenset[str]] = field(default_factory=dict)

    def admitted(self, matches: list[Match], *, leaving_out: str | None = None) -> list[Match]:
        """The matches whose values the selection admits (but for facet `leaving_out`)."""
        ticked = [
            (facet, chosen)
            for facet, chosen in self.values.items()
            if chosen and facet != leaving_out
        ]
        if not ticked:  # most searches: no call per match (a search counts ~1,200 of them)
            return matches
        return [m for m in matches if all(getattr(m, f) in chosen for f, chosen in ticked)]

    def chosen(self, facet: str) -> frozenset[str]:
        return self.values.get(facet, frozenset())


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and a search
# builds a few hundred of these.
@dataclass(slots=True)
class Match:
    product_id: int
    rank: int  # in the fused relevance order
    score: float
    signals: tuple[str, ...]
    category: str | None  # slug
    category_name: str
    brand: str
    color: str
    size: str
    price: Decimal
    created_at: float  # epoch seconds
    sinks: bool  # out of stock, and its merchant shows those last
    group: tuple  # variants of one item share it
    merchant_id: int
    in_stock: bool
    lift: int = 0  # -1 boosted, +1 buried by a merchandising rule
    pinned: bool = False  # placed by a merchant's pin, whether or not it matched


@dataclass(frozen=True)
class Arranged:
    tiles: list[Match]  # one per item, in the order shown
    facets: dict


def arrange(
    hits: Sequence[FusedHit],
    *,
    selection: Selection,
    sort: str,
    rules: RuleSet = NO_RULES,
    products_sql: tuple[str, tuple],
    rows: dict[int, tuple] | None = None,
    count_facets: bool = True,
) -> Arranged:
    """Apply the stock rule, merchandising rules, the selection, the variant folding and the
    sort; count facets (unless `count_facets` is False: then `facets` is empty). `rows`:
    match_rows() of some of the hits, read earlier."""
    relevance = sort == "relevance"
    pins = searchable_pins(rules, products_sql) if relevance else {}
    ranked = {hit.product_id for hit in hits}
    extra = [FusedHit(pk, 0.0, ()) for pk in pins if pk not in ranked]
    hidden = rules.hidden
    matches = [m for m in _matches([*hits, *extra], rows or {}) if m.product_id not in hidden]
    if relevance:
        matches = [_lifted(m, rules) for m in matches]
    selected = selection.admitted(matches)
    tiles = _one_per_group(selected, first=set(pins))
    tiles.sort(key=_SORT_KEYS[sort])
    if pins:
        tiles = _pinned(tiles, pins)
    return Arranged(tiles=tiles, facets=_facets(matches, tiles, selection) if count_facets else {})


def _lifted(match: Match, rules: RuleSet) -> Match:
    lift, names = rules.lift(match)
    if not lift:
        return match
    return dataclasses.replace(match, lift=lift, signals=(*match.signals, *names))


def _pinned(tiles: list[Match], pins: dict) -> list[Match]:
    """Pinned tiles moved to their positions (1 = first), the rest in order around them."""
    pinned = {tile.product_id: tile for tile in tiles if tile.product_id in pins}
    rest = [tile for tile in tiles if tile.product_id not in pinned]
    for pk in sorted(pinned, key=lambda pk: pins[pk].position):
        signals = (*pinned[pk].signals, f"rule:{pins[pk].name}")
        tile = dataclasses.replace(pinned[pk], signals=signals, pinned=True)
        rest.insert(pins[pk].position - 1, tile)
    return rest


def match_rows(product_ids: Sequence[int]) -> dict[int, tuple]:
    """What arranging reads of each product: {id: row}; a deleted product has none (see also
    match_rows_around)."""
    if not product_ids:
        return {}
    with read_connection().cursor() as cursor:
        cursor.execute(_MATCHES_SQL, [list(product_ids)])
        return {row[0]: row for row in cursor.fetchall()}


def _matches(hits: Sequence[FusedHit], known: dict[int, tuple]) -> list[Match]:
    rows = known | match_rows([hit.product_id for hit in hits if hit.product_id not in known])
    matches = []
    for rank, hit in enumerate(hits):
        row = rows.get(hit.product_id)
        if row is None:  # deleted since it was ranked
            continue
        pk, slug, name, brand, color, size, price, created, out, policy, merchant, group = row
        if out and policy == OutOfStockResults.HIDE:
            continue
        matches.append(
            Match(
                product_id=pk,
                rank=rank,
                score=hit.score,
                signals=hit.signals,
                category=slug,
                category_name=name or "",
                brand=brand,
                color=color,
                size=size,
                price=price,
                created_at=created,
                sinks=out and policy == OutOfStockResults.LAST,
                group=(merchant, group) if group else (None, pk),
                merchant_id=merchant,
                in_stock=not out,
            )
        )
    return matches


def _one_per_group(matches: list[Match], *, first: set[int]) -> list[Match]:
    """Each item's best-ranked variant stands for it (a pinned variant before any other)."""
    ordered = sorted(matches, key=lambda m: m.product_id not in first)  # stable
    seen, tiles = set(), []
    for match in ordered:
        if match.group not in seen:
            seen.add(match.group)
            tiles.append(match)
    return tiles


# Ties fall back to relevance, then the product id: a sort is stable across pages.
_SORT_KEYS = {
    "relevance": lambda m: (m.sinks, m.lift, m.rank),
    "price_asc": lambda m: (m.sinks, m.price, m.rank, m.product_id),
    "price_desc": lambda m: (m.sinks, -m.price, m.rank, m.product_id),
    "newest": lambda m: (m.sinks, -m.created_at, m.rank, m.product_id),
}


def _facets(matches: list[Match], tiles: list[Match], selection: Selection) -> dict:
    facets = {}
    for facet in FACETS:
        # Counted over the matches the *other* facets admit, one count per item.
        groups: dict[str, set] = defaultdict(set)
        names: dict[str, str] = {}
        for match in selection.admitted(matches, leaving_out=facet):
            value = getattr(match, facet)
            if value:
                groups[value].add(match.group)
                if facet == "category":
                    names[value] = match.category_name
        counts = Counter({value: len(members) for value, members in groups.items()})
        for value in selection.chosen(facet):
            counts.setdefault(value, 0)  # a ticked value stays on offer, to untick
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        facets[facet] = [
            {
                "value": value,
                "label": names.get(value, value),
                "count": count,
                "selected": value in selection.chosen(facet),
            }
            for value, count in ordered
        ]
    facets["price_bands"] = [
        {
            "label": label,
            "min": None if low is None else str(low),
            "max": None if high is None else str(high),
            "count": sum(
                1
                for tile in tiles
                if (low is None or tile.price >= low) and (high is None or tile.price < high)
            ),
        }
        for label, low, high in PRICE_BANDS
    ]
    return facets


# From the groups to their variants through the product_item_group index (its condition,
# item_group_id <> '', is repeated so the planner may use it); the strict-fidelity rule then
# reads only those rows. Filtering the catalog first took 16 ms at 100,000 products.
_GROUP_OPTIONS_SQL = """
SELECT product.merchant_id, product.item_group_id, count(*),
  array_agg(DISTINCT product.color ORDER BY product.color) FILTER (WHERE product.color <> ''),
  array_agg(DISTINCT product.size ORDER BY product.size) FILTER (WHERE product.size <> '')
FROM unnest(%s::bigint[], %s::text[]) AS item(merchant_id, group_id)
JOIN catalog_product AS product
  ON product.merchant_id = item.merchant_id AND product.item_group_id = item.group_id
  AND product.item_group_id <> ''
WHERE product.id IN ({products})
GROUP BY product.merchant_id, product.item_group_id
"""


@dataclass(frozen=True)
class VariantOptions:
    count: int
    colors: tuple[str, ...]
    sizes: tuple[str, ...]


def variant_options(tiles: Sequence[Match], products_sql: tuple[str, tuple]):
    """{group: VariantOptions} of the tiles that stand for several variants: what is on offer."""
    statement = variant_options_statement(tiles, products_sql)
    if statement is None:
        return {}
    with read_connection().cursor() as cursor:
        cursor.execute(*statement)
        return variant_options_read(cursor.fetchall())


def variant_options_statement(tiles: Sequence[Match], products_sql: tuple[str, tuple]):
    """(sql, params) of variant_options(), for a caller that sends it with others; None: no
    tile has variants."""
    grouped = [tile.group for tile in tiles if tile.group[0] is not None]
    if not grouped:
        return None
    products, params = products_sql
    return (
        _GROUP_OPTIONS_SQL.format(products=products),
        [[m for m, _ in grouped], [g for _, g in grouped], *params],
    )


def variant_options_read(rows) -> dict[tuple, VariantOptions]:
    return {
        (merchant, group): VariantOptions(count, tuple(colors or ()), tuple(sizes or ()))
        for merchant, group, count, colors, sizes in rows
    }

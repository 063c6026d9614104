"""Shopper search: words, a photo, or a product in; a page of real catalog products out.

Every path starts from `SearchFilters.products()` (or its compiled SQL, `products_sql()`), i.e.
from catalog.selectors.products_searchable (the strict-fidelity rule): nothing else is ever
ranked.
"""

from __future__ import annotations

import contextvars
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from rest_framework import exceptions

from catalog.images import inspect_image
from catalog.models import Product
from catalog.selectors import products_displayed, products_searchable
from config.replicas import read_connection
from retrieval.encoders import get_encoder
from retrieval.filters import SearchFilters
from retrieval.fusion import FusedHit, reciprocal_rank_fusion
from retrieval.highlight import highlights, highlights_read, highlights_statement
from retrieval.keyword import analyse_query, keyword_matches
from retrieval.match_cutoff import vector_match_similarity
from retrieval.recovery import Recovery, did_you_mean, relaxed_query, you_might_like
from retrieval.results import (
    NO_RULES,
    Selection,
    VariantOptions,
    arrange,
    variant_options,
    variant_options_read,
    variant_options_statement,
)
from retrieval.rules import RuleSet, rules_for
from retrieval.vector import image_vector_ranking, product_vector, product_vector_ranking

PAGE_SIZE = 24
NO_SELECTION = Selection()

# The vector half (encode the query, then the HNSW search) runs on this pool while the request's
# own connection runs the keyword half, and so do a page's highlights and variants while it
# reads the products: ONNX Runtime and psycopg release the GIL, and the statements run in two
# PostgreSQL backends at once (bench/search.py, HTTP text search). Each pool thread keeps its
# own connection (so up to 4 more per app process). Threads start on first use, after any fork
# of the app server.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fidelis-search")


class PageOutOfRange(exceptions.NotFound):
    """A page past the last one: 404 in the API; pages link back to the last page."""

    default_code = "page_out_of_range"

    def __init__(self, page: int, last_page: int):
        super().__init__(f"Page {page} is beyond the last page ({last_page}).")
        self.page, self.last_page = page, last_page


@dataclass(frozen=True)
class SearchHit:
    product: Product
    score: float
    signals: tuple[str, ...]
    highlight: dict[str, str] | None = None  # title and description snippet, as safe HTML
    variants: VariantOptions | None = None  # what the item's variants offer, when it has some
    pinned: bool = False  # a merchant's pin put it here: the page labels it
    position: int = 0  # 1 = the first result of the first page


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int
    page: int
    page_size: int
    facets: dict
    sort: str = "relevance"
    recovery: Recovery | None = None  # set when nothing matched the query as typed
    you_might_like: list[Product] = field(default_factory=list)  # never matches

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def has_more(self) -> bool:
        return self.page < self.num_pages


def products_search_text(
    *,
    query: str,
    filters: SearchFilters,
    selection: Selection = NO_SELECTION,
    sort: str = "relevance",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> SearchPage:
    """Keyword matches (every word, typo-tolerant) and vector matches above the model's
    cut-off, fused; zero-result recovery when there are none."""
    encoder = get_encoder()
    # Inside a transaction (a test case, an atomic view) only this connection sees its rows,
    # so the vector half then waits its turn on it.
    on_own_connection = not read_connection().in_atomic_block
    if on_own_connection:
        run_in_this_context = contextvars.copy_context().run  # the replica chosen, if any
        vector_half = _pool.submit(
            run_in_this_context, _on_pool_connection, _text_vector_half, query, encoder, filters
        )
    else:
        encoding = _pool.submit(encoder.encode_query, query)
    analysed = analyse_query(query)
    rules = RuleSet(rules_for([query, analysed.text], [*analysed.typed, *analysed.words]))
    keyword = keyword_matches(query, filters, analysed=analysed)
    keyword_ids = keyword.ids
    # The vector half (encode, then the HNSW search) usually takes longer: meanwhile this
    # connection reads what the page needs of the keyword side, on an otherwise idle core: the
    # page as ranked by keyword alone (the matches' attributes came with them) or, when no
    # word matched, recovery's keyword steps (used unless the vector half finds matches) and
    # their matches' attributes.
    keyword_steps, rows, ahead = None, keyword.rows, None
    if on_own_connection:
        if keyword_ids:  # then there is no recovery: the highlighted terms are known
            ahead = _page_read_ahead(
                keyword_ids,
                rows=rows,
                selection=selection,
                sort=sort,
                rules=rules,
                page=page,
                page_size=page_size,
                products_sql=filters.products_sql(),
                highlight_terms=_marked_terms(analysed.slots),
            )
        else:
            keyword_steps = _keyword_recovery(query, analysed, filters)
        query_vector, nearest = vector_half.result()
    else:
        query_vector = encoding.result()
        nearest = product_vector_ranking(query_vector, encoder=encoder, filters=filters)
    cutoff = vector_match_similarity(encoder)
    vector_ids = [pid for pid, distance in nearest if 1.0 - distance > cutoff]
    fused = reciprocal_rank_fusion({"vector": vector_ids, "keyword": keyword_ids})
    recovery = None
    if not fused:
        keyword_steps = keyword_steps or _keyword_recovery(query, analysed, filters)
        relaxed = keyword_steps[1]
        if relaxed:  # its matches' attributes came with them
            rows = relaxed.rows
        recovery, fused = _recover(
            keyword_steps,
            filters,
            query_vector,
            nearest,
            encoder,
        )
    slots = analysed.slots
    if recovery:
        slots = [slot for slot in slots if slot.text not in recovery.dropped_words]
    return _page_of(
        fused,
        selection=selection,
        sort=sort,
        page=page,
        page_size=page_size,
        highlight_terms=_marked_terms(slots),
        products_sql=filters.products_sql(),
        recovery=recovery,
        rules=rules,
        rows=rows,
        ahead=ahead,
    )


def _marked_terms(slots) -> list[str]:
    return [slot.text for slot in slots] + [
        other.text for slot in slots for other in slot.alternatives
    ]


def _on_pool_connection(work, *args):
    """Run `work` on a pool thread, on that thread's own connection."""
    # No request cycle opens or closes this thread's connection: it is checked before and after
    # as Django does a request's, so an error, a restarted database or its age
    # (FIDELIS_DB_CONN_MAX_AGE; 0 = not kept) closes it.
    connection = read_connection()
    connection.close_if_unusable_or_obsolete()
    try:
        return work(*args)
    finally:
        connection.close_if_unusable_or_obsolete()


def _text_vector_half(query: str, encoder, filters: SearchFilters):
    """(query vector, nearest products)."""
    query_vector = encoder.encode_query(query)
    return query_vector, product_vector_ranking(query_vector, encoder=encoder, filters=filters)


def _marks_and_options(shown_ids, highlight_terms, shown, products_sql):
    """highlights() and variant_options() of the shown tiles, in one round trip."""
    marks = highlights_statement(shown_ids, highlight_terms)
    options = variant_options_statement(shown, products_sql)
    if marks is None or options is None:
        return highlights(shown_ids, highlight_terms), variant_options(shown, products_sql)
    with read_connection().cursor() as cursor:
        cursor.execute(marks[0] + ";\n" + options[0], [*marks[1], *options[1]])
        marked = highlights_read(cursor.fetchall())
        cursor.nextset()
        return marked, variant_options_read(cursor.fetchall())


def _keyword_recovery(query, analysed, filters):
    """Recovery's first two steps: ("did you mean" spelling or None, Relaxed or None)."""
    return did_you_mean(query, analysed, filters), relaxed_query(analysed, filters)


def _recover(keyword_steps, filters, query_vector, nearest, encoder):
    """Nothing matched: "did you mean", the relaxed query's matches, or "you might like"."""
    suggestion, relaxed = keyword_steps
    if relaxed:
        hits = reciprocal_rank_fusion({"keyword": relaxed.product_ids})
        return Recovery(suggestion, relaxed.query, relaxed.dropped), hits
    liked = you_might_like(query_vector, nearest, encoder=encoder, filters=filters)
    return Recovery(did_you_mean=suggestion, you_might_like=liked), []


def products_search_photo(
    *,
    image_data: bytes,
    filters: SearchFilters,
    selection: Selection = NO_SELECTION,
    sort: str = "relevance",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> SearchPage:
    """Products whose best image is nearest to the photo. Raises ValidationError for bad images."""
    encoder = get_encoder()
    # One decode, at the scale the encoder needs, both checks the photo and feeds the model.
    photo = inspect_image(image_data, draft=encoder.draft_size)
    query_vector = encoder.encode_images(encoder.pixels_of(photo.image)[None])[0]
    ranking = image_vector_ranking(query_vector, encoder=encoder, filters=filters)
    return _page_of(
        _similarity_hits(ranking),
        selection=selection,
        sort=sort,
        page=page,
        page_size=page_size,
        products_sql=filters.products_sql(),
    )


def products_similar(
    *,
    product_id: int,
    filters: SearchFilters,
    selection: Selection = NO_SELECTION,
    sort: str = "relevance",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> SearchPage:
    """More like this: the real products nearest to a searchable product (never itself)."""
    products_searchable().get(pk=product_id)  # Product.DoesNotExist for hidden products
    encoder = get_encoder()
    vector = product_vector(product_id, encoder=encoder)
    ranking = (
        []  # not indexed yet
        if vector is None
        else product_vector_ranking(
            vector, encoder=encoder, filters=filters, exclude_ids=[product_id]
        )
    )
    return _page_of(
        _similarity_hits(ranking),
        selection=selection,
        sort=sort,
        page=page,
        page_size=page_size,
        products_sql=filters.products_sql(),
    )


def _similarity_hits(ranking: list[tuple[int, float]]) -> list[FusedHit]:
    return [FusedHit(pid, round(1.0 - distance, 6), ("vector",)) for pid, distance in ranking]


def _page_of(
    hits: list[FusedHit],
    *,
    selection: Selection,
    sort: str,
    page: int,
    page_size: int,
    products_sql: tuple[str, tuple],
    highlight_terms: list[str] = (),
    recovery: Recovery | None = None,
    rules: RuleSet = NO_RULES,
    rows: dict[int, tuple] | None = None,
    ahead: PageParts | None = None,
) -> SearchPage:
    arranged = arrange(
        hits, selection=selection, sort=sort, rules=rules, products_sql=products_sql, rows=rows
    )
    total = len(arranged.tiles)
    last_page = max(1, math.ceil(total / page_size))
    if page > last_page:
        raise PageOutOfRange(page, last_page)
    shown = arranged.tiles[(page - 1) * page_size : page * page_size]
    liked = recovery.you_might_like if recovery else ()
    parts = _page_parts(shown, liked, highlight_terms, products_sql, ahead=ahead or NO_PARTS)
    products = parts.products
    return SearchPage(
        # A product deleted since it was ranked is left out rather than failing the page.
        hits=[
            SearchHit(
                products[tile.product_id],
                tile.score,
                tile.signals,
                highlight=parts.marks.get(tile.product_id),
                variants=parts.options.get(tile.group),
                pinned=tile.pinned,
                position=(page - 1) * page_size + index,
            )
            for index, tile in enumerate(shown, start=1)
            if tile.product_id in products
        ],
        total=total,
        page=page,
        page_size=page_size,
        facets=arranged.facets,
        sort=sort,
        recovery=recovery,
        you_might_like=[products[pk] for pk in liked if pk in products],
    )


@dataclass(frozen=True)
class PageParts:
    """What a page shows of its tiles beyond their ranking, read for the tiles in `tiles`."""

    products: dict[int, Product]
    marks: dict[int, dict[str, str]]
    options: dict[tuple, VariantOptions]
    tiles: frozenset[int]


NO_PARTS = PageParts({}, {}, {}, frozenset())


def _page_parts(shown, liked, highlight_terms, products_sql, *, ahead: PageParts) -> PageParts:
    """Products, highlights and variants of the shown tiles, but for what `ahead` holds."""
    missing = [tile for tile in shown if tile.product_id not in ahead.tiles]
    missing_ids = [tile.product_id for tile in missing]
    wanted = missing_ids + [pk for pk in liked if pk not in ahead.products]
    if not wanted:
        return ahead
    # Highlights and variants on a pool thread's connection while this one reads the products:
    # the two statements and the ORM's work then share the machine's cores.
    if read_connection().in_atomic_block:  # only this connection sees the transaction's rows
        marks, options = _marks_and_options(missing_ids, highlight_terms, missing, products_sql)
        products = products_displayed(wanted)
    else:
        run_in_this_context = contextvars.copy_context().run
        extras = _pool.submit(
            run_in_this_context,
            _on_pool_connection,
            _marks_and_options,
            missing_ids,
            highlight_terms,
            missing,
            products_sql,
        )
        products = products_displayed(wanted)
        marks, options = extras.result()
    return PageParts(
        ahead.products | products,
        ahead.marks | marks,
        ahead.options | options,
        ahead.tiles | frozenset(missing_ids),
    )


def _page_read_ahead(
    keyword_ids, *, rows, selection, sort, rules, page, page_size, products_sql, highlight_terms
) -> PageParts:
    """The parts of the page as it would be by keyword alone, read while the vector half runs:
    its matches mostly rank by keyword too, so the page reads few or none after it."""
    hits = reciprocal_rank_fusion({"keyword": keyword_ids})
    # Only its tiles are used: the page's facets are counted over the fused matches.
    arranged = arrange(
        hits,
        selection=selection,
        sort=sort,
        rules=rules,
        products_sql=products_sql,
        rows=rows,
        count_facets=False,
    )
    shown = arranged.tiles[(page - 1) * page_size : page * page_size]
    return _page_parts(shown, (), highlight_terms, products_sql, ahead=NO_PARTS)

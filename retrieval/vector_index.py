"""One partial HNSW index per (table, encoder): `vector::halfvec(dim)` WHERE encoder = identity.

pgvector's documented way to index vectors of several dimensions in one column. A query uses
the index when it orders by the same cast expression and filters on the same encoder literal
(`nearest_vector_distance` and the search SQL in retrieval/vector.py write exactly that).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Func, Value
from pgvector.django import CosineDistance, HalfVectorField
from psycopg import sql

from retrieval.models import ImageEmbedding, ProductEmbedding

logger = logging.getLogger("fidelis.vector_index")

# Every vector index is named `{table[:30]}_hnsw_{digest}`; the digest covers the encoder and
# the graph's parameters, so an index of other parameters is another index.
_NAME_INFIX = "_hnsw_"
# pgvector's own defaults, for an index created without options.
_PGVECTOR_DEFAULTS = {"m": 16, "ef_construction": 64}


@dataclass(frozen=True)
class Graph:
    """An HNSW graph's build parameters (settings.FIDELIS_HNSW_M / _EF_CONSTRUCTION)."""

    m: int
    ef_construction: int

    @classmethod
    def configured(cls) -> Graph:
        return cls(settings.FIDELIS_HNSW_M, settings.FIDELIS_HNSW_EF_CONSTRUCTION)


@dataclass(frozen=True)
class VectorIndex:
    name: str
    graph: Graph
    valid: bool  # False: a concurrent build that failed or is still running


def index_name(model: type, encoder_identity: str, graph: Graph) -> str:
    key = f"{encoder_identity}|m={graph.m}|ef_construction={graph.ef_construction}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return f"{model._meta.db_table[:30]}{_NAME_INFIX}{digest}"


def vector_indexes(model: type, encoder_identity: str) -> list[VectorIndex]:
    """The HNSW indexes of `model`'s table that serve `encoder_identity`, whatever their graph."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reloptions, i.indisvalid FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
            "WHERE i.indrelid = %s::regclass AND a.amname = 'hnsw' "
            "AND position(quote_literal(%s) IN pg_get_expr(i.indpred, i.indrelid)) > 0 "
            "ORDER BY c.relname",
            [model._meta.db_table, encoder_identity],
        )
        rows = cursor.fetchall()
    found = []
    for name, options, valid in rows:
        values = _PGVECTOR_DEFAULTS | dict(option.split("=", 1) for option in options or [])
        graph = Graph(int(values["m"]), int(values["ef_construction"]))
        found.append(VectorIndex(name, graph, valid))
    return found


def ensure_vector_indexes(*, encoder_identity: str, dim: int) -> None:
    """Create the HNSW indexes for this encoder if it has none (idempotent, cheap when present).

    An index built with other graph parameters is kept and used (a rebuild of a large catalog
    takes minutes to hours, and is not for an indexing job to start): a warning names the fix.
    """
    graph = Graph.configured()
    for model in (ImageEmbedding, ProductEmbedding):
        existing = [index for index in vector_indexes(model, encoder_identity) if index.valid]
        if not existing:
            _create(model, encoder_identity, dim, graph, concurrently=False)
        elif all(index.graph != graph for index in existing):
            logger.warning(
                "The vector index of %s for %s was built with m=%s, ef_construction=%s; the "
                "settings ask for m=%s, ef_construction=%s. Run `./fidelis manage reindex "
                "--rebuild-index` to build the new graph (searches keep using the old one "
                "meanwhile).",
                model._meta.db_table,
                encoder_identity,
                existing[0].graph.m,
                existing[0].graph.ef_construction,
                graph.m,
                graph.ef_construction,
            )


def rebuild_vector_indexes(*, encoder_identity: str, dim: int) -> list[str]:
    """Build this encoder's indexes with the configured graph, then drop every other index of
    the encoder. Outside a transaction the build is concurrent: searches and writes go on, on
    the old index, until the new one is valid. Returns the names of the indexes dropped."""
    graph = Graph.configured()
    concurrently = not connection.in_atomic_block
    dropped = []
    for model in (ImageEmbedding, ProductEmbedding):
        wanted = index_name(model, encoder_identity, graph)
        for index in vector_indexes(model, encoder_identity):
            if index.name == wanted and not index.valid:
                _drop(index.name, concurrently=concurrently)  # a failed earlier build
        _create(model, encoder_identity, dim, graph, concurrently=concurrently)
        for index in vector_indexes(model, encoder_identity):
            if index.name != wanted:
                _drop(index.name, concurrently=concurrently)
                dropped.append(index.name)
    return dropped


def drop_vector_indexes(model: type, encoder_identity: str) -> None:
    for index in vector_indexes(model, encoder_identity):
        _drop(index.name, concurrently=False)


def _create(model, encoder_identity: str, dim: int, graph: Graph, *, concurrently: bool):
    statement = sql.SQL(
        "CREATE INDEX {concurrently} IF NOT EXISTS {name} ON {table} USING hnsw "
        "((vector::halfvec({dim})) halfvec_cosine_ops) WITH (m = {m}, ef_construction = {ef}) "
        "WHERE encoder = {identity}"
    ).format(
        concurrently=sql.SQL("CONCURRENTLY" if concurrently else ""),
        name=sql.Identifier(index_name(model, encoder_identity, graph)),
        table=sql.Identifier(model._meta.db_table),
        dim=sql.Literal(dim),
        m=sql.Literal(graph.m),
        ef=sql.Literal(graph.ef_construction),
        identity=sql.Literal(encoder_identity),
    )
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))


def _drop(name: str, *, concurrently: bool) -> None:
    statement = sql.SQL("DROP INDEX {concurrently} IF EXISTS {name}").format(
        concurrently=sql.SQL("CONCURRENTLY" if concurrently else ""), name=sql.Identifier(name)
    )
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))


class _HalfvecCast(Func):
    template = "(%(expressions)s)::halfvec(%(dim)s)"


def vector_literal(query_vector) -> str:
    """A vector as pgvector text. Six significant digits are more than a halfvec keeps (about
    3.3), in half the text of Python's repr."""
    return "[" + ",".join(f"{x:.6g}" for x in np.asarray(query_vector).tolist()) + "]"


def nearest_vector_distance(query_vector, *, dim: int) -> CosineDistance:
    """Cosine distance from the `vector` column to `query_vector`, in the indexed form."""
    column = _HalfvecCast("vector", dim=int(dim), output_field=HalfVectorField(dimensions=dim))
    literal = Value(vector_literal(query_vector))
    query = _HalfvecCast(literal, dim=int(dim), output_field=HalfVectorField(dimensions=dim))
    return CosineDistance(column, query)

"""Lookups in the registry's (and the catalog's) bit indexes: nearest hashes, keypoint votes."""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction

from catalog import fingerprints
from catalog.concurrent_reads import read_beside
from catalog.guard import thresholds as t


@contextmanager
def index_lookups(*, ef_search: int, probes: int = t.CATALOG_KEYPOINT_PROBES):
    """A cursor for plain nearest-neighbour lookups in the guard's bit indexes.

    Sets what search sessions set otherwise (retrieval/session.py): no iterative scan (these
    lookups have no filter to scan past, and on bit indexes it failed with "cannot load
    deleted element" after deletes, pgvector 0.8), the guard's own search breadth, and the
    lists the catalog's keypoint index (IVFFlat) scans.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SET LOCAL hnsw.iterative_scan = off; SET LOCAL hnsw.ef_search = {ef_search:d};"
            f" SET LOCAL ivfflat.probes = {probes:d}"
        )
        yield cursor


# The nearest entry to each of the query's rotations and mirrors: its hashes as it is and
# without its borders against the entries as they are, and without its borders against the
# entries that had borders (the only ones with a trimmed hash: models.GeneratedImage). HNSW
# returns no NULLs; the outer filter keeps a plan without the index from returning them too.
_NEAREST_PDQ_SQL = """
SELECT e.id, e.bits FROM unnest(%(whole)s::bit(256)[]) AS q(pdq)
CROSS JOIN LATERAL (
  SELECT id, pdq <~> q.pdq AS bits FROM catalog_generatedimage ORDER BY pdq <~> q.pdq LIMIT 1
) AS e
UNION ALL
SELECT e.id, e.bits FROM unnest(%(trimmed)s::bit(256)[]) AS q(pdq)
CROSS JOIN LATERAL (
  SELECT id, pdq_trimmed <~> q.pdq AS bits FROM catalog_generatedimage
  ORDER BY pdq_trimmed <~> q.pdq LIMIT 1
) AS e
WHERE e.bits IS NOT NULL
"""


def nearest_by_pdq(query: fingerprints.QueryHashes) -> list[tuple[int, int]]:
    """(bits, entry) of the entries nearest to any of the query's hashes, nearest first, each
    entry once."""
    trimmed = query.pdq_trimmed_dihedral
    whole = query.pdq_dihedral + (trimmed if trimmed != query.pdq_dihedral else [])
    with index_lookups(ef_search=t.DEFAULT_EF_SEARCH) as cursor:
        cursor.execute(_NEAREST_PDQ_SQL, {"whole": whole, "trimmed": trimmed})
        nearest: dict[int, int] = {}
        for pk, bits in cursor.fetchall():
            nearest[pk] = min(int(bits), nearest.get(pk, 256))
    return sorted((bits, pk) for pk, bits in nearest.items())


# Each query descriptor takes its nearest indexed descriptors within reach: one row per vote,
# naming the voting descriptor (its 0-based row in the query) and the keypoint it voted for.
_VOTE_ROWS_SQL = """
SELECT q.number - 1 + %(first)s, k.{owner}, k.x, k.y
FROM unnest(%(descriptors)s::bit(256)[]) WITH ORDINALITY AS q(descriptor, number)
CROSS JOIN LATERAL (
  SELECT {owner}, {x} AS x, {y} AS y, descriptor <~> q.descriptor AS distance
  FROM {table} ORDER BY descriptor <~> q.descriptor LIMIT %(neighbours)s
) AS k
WHERE k.distance <= %(max_bits)s
"""


@dataclass(frozen=True)
class Votes:
    """The keypoints of one owner that one side of a query voted for."""

    owner_id: int
    mirrored: bool  # which side of the query voted: its mirrored descriptors, or upright ones
    queries: list[int]  # the voting descriptor of each vote (its row within that side)
    points: list[tuple[float, float]]  # the position of the keypoint it voted for


def keypoint_votes(
    sides: dict[bool, list[str]],
    *,
    table: str,
    owner: str,
    positioned: bool = False,
    candidates: int,
    ef_search: int = t.DEFAULT_EF_SEARCH,
) -> list[Votes]:
    """The (owner, side) pairs most voted for by the descriptors of each side of a query (False:
    upright, True: mirrored), with >= MIN_VOTES votes, most voted first. A `positioned` table
    records each keypoint's position (the registry); the other one does not (the catalog)."""
    descriptors = sides.get(False, []) + sides.get(True, [])
    upright_count = len(sides.get(False, []))
    if not descriptors:
        return []
    columns = {"x": "x", "y": "y"} if positioned else {"x": "0.0", "y": "0.0"}
    sql = _VOTE_ROWS_SQL.format(table=table, owner=owner, **columns)

    def vote_rows(first: int, last: int) -> list[tuple]:
        with index_lookups(ef_search=ef_search) as cursor:
            cursor.execute(
                sql,
                {
                    "descriptors": descriptors[first:last],
                    "first": first,
                    "neighbours": t.KEYPOINT_NEIGHBOURS,
                    "max_bits": t.KEYPOINT_MATCH_BITS,
                },
            )
            return cursor.fetchall()

    # Half of the lookups run in a second session, on the other core: a check at 100,000
    # registered took 35.5 instead of 49.8 ms (p50, 200 unrelated photos, alternating).
    half = len(descriptors) // 2
    second_half = read_beside(vote_rows, half, len(descriptors))
    rows = vote_rows(0, half) + second_half.result()
    by_pair: dict[tuple[int, bool], list[tuple]] = defaultdict(list)
    for row, owner_id, x, y in sorted(rows):
        mirrored = row >= upright_count
        by_pair[owner_id, mirrored].append((row - upright_count * mirrored, (x, y)))
    ranked = sorted(
        (pair for pair, votes in by_pair.items() if len(votes) >= t.MIN_VOTES),
        key=lambda pair: (-len(by_pair[pair]), pair),
    )
    return [
        Votes(
            owner_id,
            mirrored,
            [row for row, _ in by_pair[owner_id, mirrored]],
            [point for _, point in by_pair[owner_id, mirrored]],
        )
        for owner_id, mirrored in ranked[:candidates]
    ]


def local_feature_candidates(query: fingerprints.QueryPrint) -> list[tuple[int, bool]]:
    """(registry entry, mirrored side of the query) pairs to verify, best first.

    A copy's votes agree on one placement of it in the entry (or of the entry in it); an
    unrelated photo's few votes land anywhere. So the most voted pairs are kept only when
    enough of their votes fit one similarity transform. The most voted pairs
    (RAW_VOTED_VERIFIED) are verified anyway: a crop to a quarter of its image holds only 7-14
    of the entry's indexed keypoints, too few to agree on a placement, yet its entry is often
    among the most voted (the first alone: crop_corner_50 0.63 -> 0.72, crop_centre_25 0.75 ->
    0.78, 60 photos, for one more verification a check). So are the pairs whose votes name most
    distinct keypoints (DISTINCT_VOTED_VERIFIED): many votes for one keypoint are one texture
    repeated, or a flat patch, not a copy.
    """
    voted = keypoint_votes(
        {side: orientation.indexed for side, orientation in query.sides.items()},
        table="catalog_registrykeypoint",
        owner="entry_id",
        positioned=True,
        ef_search=t.KEYPOINT_EF_SEARCH,
        candidates=t.VOTED_CANDIDATES,
    )
    placed = []
    for votes in voted:
        points = query.sides[votes.mirrored].indexed_points[votes.queries]
        agreeing = fingerprints.placement_votes(points, votes.points)
        if agreeing >= t.MIN_PLACED_VOTES:
            placed.append((-agreeing, votes.owner_id, votes.mirrored))
    chosen = [(owner_id, mirrored) for _, owner_id, mirrored in sorted(placed)[: t.CANDIDATES]]
    by_keypoints = sorted(voted, key=lambda votes: -len(set(votes.points)))
    for votes in voted[: t.RAW_VOTED_VERIFIED] + by_keypoints[: t.DISTINCT_VOTED_VERIFIED]:
        if (votes.owner_id, votes.mirrored) not in chosen:
            chosen.append((votes.owner_id, votes.mirrored))
    return chosen

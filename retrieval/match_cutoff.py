"""When a hit found only by the vector half counts as a match.

The vector half ranks every product: its top candidates are only *near*, and a nonsense query
has near products too. A hit the keyword half did not find is a match only when its cosine
similarity to the query is above the model's cut-off. The cut-off belongs to the model (two
models' similarities live on different scales), so it is kept here per encoder identity, and a
shop calibrates its own with `./fidelis manage calibrate_match_cutoff JUDGEMENTS.csv`, which
prints the FIDELIS_VECTOR_MATCH_SIMILARITY to set.
"""

from __future__ import annotations

from django.conf import settings

from retrieval.encoders import ClipEncoder

# A cosine similarity never exceeds 1: the random-weight profiles (tiny, bench) keep every
# vector-only hit out, because their similarities mean nothing. Their vector half still orders
# products the keyword half matched, and ranks photo search and more-like-this.
NEVER = 1.0
MATCH_SIMILARITY = {
    "fidelis-tiny@random-seed0": NEVER,
    "ViT-B-32@random-seed0": NEVER,
}
# Any other model, until the shop calibrates: a conservative start, not measured here (no real
# weights can be had offline). Text-to-image similarities of CLIP ViT-B models mostly fall
# between 0.15 (unrelated) and 0.35 (a good caption).
UNCALIBRATED_MODEL = 0.28


def vector_match_similarity(encoder: ClipEncoder) -> float:
    """The similarity a vector-only hit must exceed to count as a match."""
    if settings.FIDELIS_VECTOR_MATCH_SIMILARITY is not None:
        return settings.FIDELIS_VECTOR_MATCH_SIMILARITY
    return MATCH_SIMILARITY.get(encoder.identity, UNCALIBRATED_MODEL)

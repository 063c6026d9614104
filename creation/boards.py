"""Boards: concepts a merchant keeps as design briefs, exported as a ZIP with their provenance.

The ZIP holds each image's stored bytes unchanged, so its XMP and signed C2PA manifest stay intact,
and `provenance.json` with the registry row of each concept.
"""

from __future__ import annotations

import json
import tempfile
import zipfile

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import GeneratedImage, Merchant
from creation.models import Board, BoardConcept
from creation.selectors import board_concepts
from creation.tagging import TRAINED_ALGORITHMIC_MEDIA

# A board is a brief, not an archive; the cap keeps an export's ZIP to a few hundred MB at most.
BOARD_MAX_CONCEPTS = 200


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError("Give the board a name.", code="empty_name")
    if len(name) > Board.NAME_MAX:
        raise ValidationError(
            f"A board name has at most {Board.NAME_MAX} characters (this one has {len(name)}).",
            code="name_too_long",
        )
    return name


def board_create(*, merchant: Merchant, user, name: str) -> Board:
    name = _clean_name(name)
    try:
        with transaction.atomic():
            return Board.objects.create(merchant=merchant, created_by=user, name=name)
    except IntegrityError:
        raise ValidationError(
            f"Your shop already has a board named “{name}”.", code="duplicate_name"
        ) from None


def board_rename(*, board: Board, name: str) -> Board:
    board.name = _clean_name(name)
    try:
        with transaction.atomic():
            board.save(update_fields=["name"])
    except IntegrityError:
        raise ValidationError(
            f"Your shop already has a board named “{board.name}”.", code="duplicate_name"
        ) from None
    return board


def board_delete(*, board: Board) -> None:
    """Delete the board; its concepts stay in the registry and on other boards."""
    board.delete()


def board_concept_add(*, board: Board, concept: GeneratedImage) -> bool:
    """Keep `concept` on `board`; False when it was there already. Both must be the same shop's."""
    if concept.merchant_id != board.merchant_id:
        raise ValidationError("Only your own concepts go on your boards.", code="not_your_concept")
    with transaction.atomic():
        # Lock the board so two adds at once cannot both pass the size check.
        Board.objects.select_for_update().get(pk=board.pk)
        if board.entries.filter(concept=concept).exists():
            return False
        if board.entries.count() >= BOARD_MAX_CONCEPTS:
            raise ValidationError(
                f"A board holds at most {BOARD_MAX_CONCEPTS} concepts: start another board.",
                code="board_full",
            )
        BoardConcept.objects.create(board=board, concept=concept)
    return True


def board_concept_remove(*, board: Board, concept_id: int) -> None:
    board.entries.filter(concept_id=concept_id).delete()


def concept_provenance(concept: GeneratedImage, *, file_name: str = "") -> dict:
    """What a concept is and where it came from, as stored in the registry."""
    source = concept.source_image
    return {
        **({"file": file_name} if file_name else {}),
        "id": concept.pk,
        "digital_source_type": TRAINED_ALGORITHMIC_MEDIA,
        "prompt": concept.prompt,
        "negative_prompt": concept.negative_prompt,
        "seed": concept.seed,
        "model": concept.model_identity,
        "fidelity": concept.fidelity,
        "source_product": (
            {"id": source.product_id, "title": source.product.title, "sku": source.product.sku}
            if source is not None
            else None
        ),
        "source_image": source.pk if source is not None else None,
        "width": concept.width,
        "height": concept.height,
        "sha256": concept.sha256,
        "created_at": concept.created_at.isoformat(),
    }


def board_export(*, board: Board) -> tempfile.SpooledTemporaryFile:
    """A ZIP of the board's images (bytes unchanged) and provenance.json, rewound for reading."""
    concepts = board_concepts(board=board)
    if not concepts:
        raise ValidationError(
            "This board is empty: save a concept to it before exporting.", code="empty_board"
        )
    # Handed open to the response, which closes it once sent.
    archive = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115
    entries = []
    with zipfile.ZipFile(archive, "w") as zipped:
        for concept in concepts:
            name = f"concept-{concept.pk}.png"
            # PNG is compressed already: store it as it is.
            with concept.file.open("rb") as fh:
                zipped.writestr(name, fh.read(), compress_type=zipfile.ZIP_STORED)
            entries.append(concept_provenance(concept, file_name=name))
        manifest = {
            "board": board.name,
            "merchant": board.merchant.name,
            "exported_at": timezone.now().isoformat(),
            "note": "Generated concepts, not products: each image carries an IPTC digital source "
            "type and a signed C2PA manifest, and the catalog refuses it as a product image.",
            "concepts": entries,
        }
        zipped.writestr(
            "provenance.json", json.dumps(manifest, indent=2), compress_type=zipfile.ZIP_DEFLATED
        )
    archive.seek(0)
    return archive

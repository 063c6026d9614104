"""CLIP encoders: words or pixels to unit vectors, one code path for every profile.

An encoder is an open_clip architecture *name* plus a weights *source* (see open_clip's factory):
- `tiny`: a small architecture from model_configs/fidelis-tiny.json, seeded random weights
  (tests, CI, the offline demo);
- `bench`: the real ViT-B-32 architecture with seeded random weights (real FLOPs, for speed);
- any open_clip name ("ViT-B-32", "hf-hub:org/repo", "local-dir:/path") with
  FIDELIS_ENCODER_WEIGHTS set to a pretrained tag or a local checkpoint file.
Random weights give meaningless rankings: `random_weights` says so, and the UI shows a banner.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import open_clip
import torch
from django.conf import settings
from PIL import Image

from retrieval import towers
from retrieval.formats import formats_for
from retrieval.pixels import ClipPixels

logger = logging.getLogger("fidelis.encoders")
open_clip.add_model_config(Path(__file__).parent / "model_configs")

# Profile name -> (architecture, default precision). Both random-weight profiles use seed 0.
# tiny stays fp32: tests compare its vectors exactly, on any machine.
RANDOM_PROFILES = {
    "tiny": ("fidelis-tiny", "fp32"),
    "bench": ("ViT-B-32", "auto"),
}
RANDOM_SEED = 0
# "auto" measures each tower's formats on this machine and keeps the fastest faithful one
# (retrieval/formats.py); any other value forces that format on both towers.
PRECISIONS = ("auto", *towers.FORMATS)


@dataclass(frozen=True)
class EncoderSpec:
    architecture: str
    weights: str | None  # None: seeded random weights
    precision: str = "fp32"  # one of PRECISIONS

    @property
    def random_weights(self) -> bool:
        return self.weights is None

    @functools.cached_property
    def identity(self) -> str:
        """Stored next to every vector, so vectors of two models are never compared."""
        if self.weights is None:
            return f"{self.architecture}@random-seed{RANDOM_SEED}"
        path = Path(self.weights)
        if path.is_file():  # a local checkpoint: name it by content, not by path
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(2**20), b""):
                    digest.update(chunk)
            return f"{self.architecture}@sha256:{digest.hexdigest()[:16]}"
        return f"{self.architecture}@{self.weights}"


def spec_from_settings() -> EncoderSpec:
    name = settings.FIDELIS_ENCODER
    if name in RANDOM_PROFILES:
        architecture, precision = RANDOM_PROFILES[name]
        return EncoderSpec(architecture, None, settings.FIDELIS_ENCODER_PRECISION or precision)
    weights = settings.FIDELIS_ENCODER_WEIGHTS or None
    if weights is None and not name.startswith(("hf-hub:", "local-dir:")):
        raise ValueError(
            f"FIDELIS_ENCODER={name!r} needs FIDELIS_ENCODER_WEIGHTS (an open_clip pretrained tag "
            "or a checkpoint file), or use the profile 'tiny' or 'bench'."
        )
    return EncoderSpec(name, weights, settings.FIDELIS_ENCODER_PRECISION or "auto")


class ClipEncoder:
    def __init__(self, spec: EncoderSpec):
        self.spec = spec
        if spec.precision not in PRECISIONS:
            raise ValueError(
                f"FIDELIS_ENCODER_PRECISION={spec.precision!r} is not one of "
                f"{', '.join(PRECISIONS)}: leave it unset to measure the best on this machine."
            )
        if spec.random_weights:
            torch.manual_seed(RANDOM_SEED)
        # Schema names (hf-hub:, local-dir:) carry their own weights; `pretrained` is ignored.
        model, _, self.preprocess = open_clip.create_model_and_transforms(
            spec.architecture, pretrained=spec.weights
        )
        model.eval()
        self.fast_preprocess = ClipPixels.matching(self.preprocess)
        self.tokenizer = open_clip.get_tokenizer(spec.architecture)
        size = model.visual.image_size
        self.image_size = size[0] if isinstance(size, tuple) else size
        with torch.inference_mode():
            self.dim = int(model.encode_text(self.tokenizer(["probe"])).shape[-1])
        # The measurements behind an "auto" choice (None when the format is forced).
        self.format_decision: dict | None = None
        self.formats = self._formats(model)
        # ONNX towers first: they export from the fp32 weights, before any cast.
        cache = settings.VAR_DIR / "onnx"
        onnx = {
            tower: towers.onnx_tower(
                model, tower=tower, fmt=fmt, identity=self.identity, cache_dir=cache
            )
            for tower, fmt in self.formats.items()
            if fmt in towers.ONNX_FORMATS
        }
        image_dtype = towers.TORCH_DTYPES.get(self.formats["image"])
        text_dtype = towers.TORCH_DTYPES.get(self.formats["text"])
        if image_dtype:
            towers.cast_image_tower(model, image_dtype)
        if text_dtype:
            towers.cast_text_tower(model, text_dtype)
        self.image_tower = onnx.get("image") or towers.TorchImageTower(model, image_dtype)
        self.text_tower = onnx.get("text") or towers.TorchTextTower(model, text_dtype)
        # With both towers on ONNX Runtime the torch weights go: that keeps ViT-B-32's 600 MB
        # of fp32 out of every process.
        self.model = model if image_dtype or text_dtype else None
        # A shop's searches repeat ("dress", "black jeans"), and a repeated query needs no new
        # vector: the text tower costs 15-22 ms of CPU per search on an AVX2 CPU without VNNI
        # (bench/search.py), CPU that other requests then have. Keyed by the query's tokens,
        # so spellings the tokenizer folds together (case, spacing) share one entry. 2 KB per
        # entry at 512 dimensions.
        self._query_vector = functools.lru_cache(maxsize=settings.FIDELIS_QUERY_VECTOR_CACHE)(
            self._encode_tokens
        )

    def _formats(self, model: torch.nn.Module) -> dict[str, str]:
        """Each tower's format: forced by the spec, or measured here (retrieval/formats.py)."""
        if self.spec.precision != "auto":
            # A tower that cannot run in the forced format (a non-causal text tower has no
            # ONNX export) stays in fp32.
            return {
                tower: self.spec.precision
                if towers.can_run(model, tower, self.spec.precision)
                else "fp32"
                for tower in ("image", "text")
            }
        decision = formats_for(
            model,
            identity=self.identity,
            cache_dir=settings.VAR_DIR / "onnx",
            pixels_of=self.pixels_of,
            tokenize=self.tokenizer,
        )
        self.format_decision = decision
        return {"image": decision["image"], "text": decision["text"]}

    @property
    def identity(self) -> str:
        return self.spec.identity

    def load_image(self, data: bytes | Path) -> torch.Tensor:
        """Decode and preprocess one image to the model's input tensor."""
        image = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
        # JPEG can decode at 1/2, 1/4 or 1/8 scale for free: big phone photos get much cheaper.
        image.draft("RGB", self.draft_size)
        return self.pixels_of(image)

    @property
    def draft_size(self) -> tuple[int, int]:
        return (self.image_size, self.image_size)

    def pixels_of(self, image: Image.Image) -> torch.Tensor:
        """Preprocess a decoded image to the model's input tensor."""
        rgb = image.convert("RGB")
        return self.fast_preprocess(rgb) if self.fast_preprocess else self.preprocess(rgb)

    @torch.inference_mode()
    def encode_images(self, pixels: torch.Tensor) -> np.ndarray:
        """(N, 3, H, W) preprocessed pixels -> (N, dim) float32 unit vectors."""
        return _unit_rows(self.image_tower(pixels))

    @torch.inference_mode()
    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Texts -> (N, dim) float32 unit vectors."""
        return _unit_rows(self.text_tower(self.tokenizer(texts)))

    def encode_query(self, text: str) -> np.ndarray:
        """One search query -> a read-only (dim,) unit vector, from the cache when it was
        asked before in this process."""
        return self._query_vector(tuple(self.tokenizer([text])[0].tolist()))

    def query_cache_clear(self) -> None:
        self._query_vector.cache_clear()

    @torch.inference_mode()
    def _encode_tokens(self, tokens: tuple[int, ...]) -> np.ndarray:
        vector = _unit_rows(self.text_tower(torch.tensor([tokens])))[0]
        vector.flags.writeable = False  # shared by every search that asks for it
        return vector


def _unit_rows(features: torch.Tensor) -> np.ndarray:
    features = features.float()
    return torch.nn.functional.normalize(features, dim=-1).numpy()


# Threads of one app process (gunicorn --threads) may ask for the encoder at once on their
# first requests: one builds it, the others wait, rather than each building its own.
_building = threading.Lock()


def get_encoder() -> ClipEncoder:
    """The process-wide encoder for the configured profile, built on first use."""
    with _building:
        return _build_encoder()


def encoder_loaded() -> bool:
    """Whether this process has built its encoder (the readiness probe asks)."""
    return _build_encoder.cache_info().currsize > 0


@functools.cache
def _build_encoder() -> ClipEncoder:
    spec = spec_from_settings()
    encoder = ClipEncoder(spec)
    if spec.random_weights:
        logger.warning(
            "Encoder %s has RANDOM weights: search results are not meaningful for quality. "
            "Set FIDELIS_ENCODER and FIDELIS_ENCODER_WEIGHTS for real weights.",
            spec.identity,
        )
    else:
        logger.info("Encoder %s loaded (%d dimensions)", spec.identity, encoder.dim)
    logger.info("Encoder formats: image tower %(image)s, text tower %(text)s", encoder.formats)
    return encoder

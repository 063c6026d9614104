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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import open_clip
import torch
from django.conf import settings
from open_clip.transformer import text_global_pool
from PIL import Image

from retrieval.pixels import ClipPixels

logger = logging.getLogger("fidelis.encoders")
open_clip.add_model_config(Path(__file__).parent / "model_configs")

# Profile name -> (architecture, default precision). Both random-weight profiles use seed 0.
RANDOM_PROFILES = {
    "tiny": ("fidelis-tiny", "fp32"),
    # int8 (ONNX Runtime) image tower: 44-53 images/s vs 19-21 torch fp32 here, cosine 0.9998.
    "bench": ("ViT-B-32", "int8"),
}
RANDOM_SEED = 0
# Number format of the weights; "int8" runs both towers on ONNX Runtime with int8 weights
# (onnx_int8.py; the rest of the model stays in bf16 for any tower it cannot export).
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "int8": torch.bfloat16}


@dataclass(frozen=True)
class EncoderSpec:
    architecture: str
    weights: str | None  # None: seeded random weights
    precision: str = "fp32"  # "fp32", "bf16", or "int8" (both towers int8 on ONNX Runtime)

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
    return EncoderSpec(name, weights, settings.FIDELIS_ENCODER_PRECISION or "int8")


class ClipEncoder:
    def __init__(self, spec: EncoderSpec):
        self.spec = spec
        if spec.precision not in PRECISIONS:
            raise ValueError(f"Precision {spec.precision!r} is not one of {sorted(PRECISIONS)}.")
        self.dtype = PRECISIONS[spec.precision]
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
        self.onnx_image_tower = self.onnx_text_tower = self.model = None
        if spec.precision == "int8":
            from retrieval.onnx_int8 import OnnxInt8Tower, export_once, text_tower_supported

            cache = settings.VAR_DIR / "onnx"
            towers = {
                "image": export_once(model, tower="image", identity=self.identity, cache_dir=cache)
            }
            if text_tower_supported(model):
                towers["text"] = export_once(
                    model, tower="text", identity=self.identity, cache_dir=cache
                )
                # Both towers run on ONNX Runtime: drop the torch weights before the sessions
                # load, which keeps ViT-B-32's 600 MB of fp32 weights out of every process.
                del model
            self.onnx_image_tower = OnnxInt8Tower(towers["image"], tower="image")
            if "text" in towers:
                self.onnx_text_tower = OnnxInt8Tower(towers["text"], tower="text")
                return
        # Weights cast once: bf16 matmuls are 2-4x fp32 on these CPUs (autocast is slower).
        self.model = model.to(self.dtype)

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
        if self.onnx_image_tower is not None:
            return _unit_rows(self.onnx_image_tower(pixels))
        return _unit_rows(self.model.encode_image(pixels.to(self.dtype)))

    @torch.inference_mode()
    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Texts -> (N, dim) float32 unit vectors."""
        tokens = self.tokenizer(texts)
        # A causal text tower pools at the EOT token (the largest id), so the padding after the
        # last EOT never influences the result: cut it (77 -> ~5 tokens for a query).
        length = int(tokens.argmax(dim=-1).max()) + 1
        if self.onnx_text_tower is not None:  # exported only for causal towers
            return _unit_rows(self.onnx_text_tower(tokens[:, :length]))
        model = self.model
        if not _is_causal_argmax_tower(model):
            return _unit_rows(model.encode_text(tokens))
        tokens = tokens[:, :length]
        x = model.token_embedding(tokens).to(self.dtype)
        x = x + model.positional_embedding[:length].to(self.dtype)
        x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
        x = model.ln_final(x)
        x = text_global_pool(x, tokens, "argmax")
        projection = model.text_projection
        x = projection(x) if isinstance(projection, torch.nn.Linear) else x @ projection
        return _unit_rows(x)


def _is_causal_argmax_tower(model: torch.nn.Module) -> bool:
    return (
        getattr(model, "text_pool_type", None) == "argmax"
        and getattr(model, "attn_mask", None) is not None
        and hasattr(model, "token_embedding")
    )


def _unit_rows(features: torch.Tensor) -> np.ndarray:
    features = features.float()
    return torch.nn.functional.normalize(features, dim=-1).numpy()


@functools.cache
def get_encoder() -> ClipEncoder:
    """The process-wide encoder for the configured profile, built on first use."""
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
    return encoder

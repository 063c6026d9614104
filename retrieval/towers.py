"""The two towers of a CLIP model, each runnable in one number format.

A format is one of FORMATS. Torch formats run open_clip's own modules with their weights cast;
ONNX formats run an exported copy (retrieval/onnx_export.py). Every tower takes what open_clip's
tokenizer or preprocessing makes and returns unnormalised features.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from open_clip.transformer import text_global_pool

from retrieval.onnx_export import (
    ONNX_FORMATS,
    OnnxTower,
    cut_after_end_token,
    export_once,
    text_tower_supported,
)

TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
FORMATS = (*TORCH_DTYPES, *ONNX_FORMATS)

Tower = Callable[[torch.Tensor], torch.Tensor]


def can_run(model: torch.nn.Module, tower: str, fmt: str) -> bool:
    """Whether this model's `tower` can run in `fmt` (a text tower exports only if causal)."""
    if fmt not in FORMATS:
        return False
    return fmt in TORCH_DTYPES or tower == "image" or text_tower_supported(model)


def onnx_tower(
    model: torch.nn.Module, *, tower: str, fmt: str, identity: str, cache_dir: Path
) -> OnnxTower:
    path = export_once(model, tower=tower, fmt=fmt, identity=identity, cache_dir=cache_dir)
    return OnnxTower(path, tower=tower)


class TorchImageTower:
    def __init__(self, model: torch.nn.Module, dtype: torch.dtype):
        self.model, self.dtype = model, dtype

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixels.to(self.dtype))


class TorchTextTower:
    """open_clip's text tower; a causal one runs only up to the last end token."""

    def __init__(self, model: torch.nn.Module, dtype: torch.dtype):
        self.model, self.dtype = model, dtype
        self.causal = (
            getattr(model, "text_pool_type", None) == "argmax"
            and getattr(model, "attn_mask", None) is not None
            and hasattr(model, "token_embedding")
        )

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        model = self.model
        if not self.causal:
            return model.encode_text(tokens)
        tokens = cut_after_end_token(tokens)
        length = tokens.shape[1]
        x = model.token_embedding(tokens).to(self.dtype)
        x = x + model.positional_embedding[:length].to(self.dtype)
        x = model.transformer(x, attn_mask=model.attn_mask[:length, :length].to(self.dtype))
        x = model.ln_final(x)
        x = text_global_pool(x, tokens, "argmax")
        projection = model.text_projection
        return projection(x) if isinstance(projection, torch.nn.Linear) else x @ projection


def cast_image_tower(model: torch.nn.Module, dtype: torch.dtype) -> None:
    """Cast the image tower's weights once (bf16 autocast per call was slower)."""
    model.visual.to(dtype)


def cast_text_tower(model: torch.nn.Module, dtype: torch.dtype) -> None:
    """Cast everything but the image tower: the text modules and the model's own tensors."""
    for name, module in model.named_children():
        if name != "visual":
            module.to(dtype)
    for tensor in (*model.parameters(recurse=False), *model.buffers(recurse=False)):
        if tensor.is_floating_point():
            tensor.data = tensor.data.to(dtype)

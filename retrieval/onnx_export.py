"""CLIP towers exported to ONNX, in fp32 or with dynamic int8 weights, run on ONNX Runtime.

Each tower is exported (and quantized) once, in seconds, and cached on disk per encoder
identity. Which of these formats a tower runs in is measured, not assumed (retrieval/formats.py).

int8 needs the quantization mode the CPU handles well. With int8 dot products (VNNI), signed
weights (u8s8) are fast and faithful. Without them (AVX2 only) ONNX Runtime's u8s8 kernels
saturate their 16-bit intermediate sums: per-channel u8s8 fell to cosine 0.976 (tiny) and 0.985
(ViT-B-32 image tower) to fp32 on an AVX2 EPYC, while unsigned weights (u8u8) held 0.9998
(image) and 0.9992 (text) at about the same speed. ONNX Runtime's docs give the same advice.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from django.conf import settings
from onnxruntime.quantization import QuantType, quantize_dynamic
from open_clip.transformer import ResidualAttentionBlock

from retrieval.cpu import has_int8_dot_products

# Bump when the exported graphs change, so old cache files are not reused.
EXPORT_VERSION = 5


class _ImageTower(torch.nn.Module):
    def __init__(self, clip_model: torch.nn.Module):
        super().__init__()
        self.clip_model = clip_model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.clip_model.encode_image(pixels)


class _TextTower(torch.nn.Module):
    """open_clip's causal text tower with attention written out, so that the exported graph
    takes any number of tokens (nn.MultiheadAttention's export fixes the length it was traced
    with). Tokens are cut after the end token, whose position pools the sequence."""

    def __init__(self, clip_model: torch.nn.Module):
        super().__init__()
        self.clip_model = clip_model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        model = self.clip_model
        length = tokens.shape[1]
        x = model.token_embedding(tokens) + model.positional_embedding[:length]
        mask = model.attn_mask[:length, :length]
        for block in model.transformer.resblocks:
            x = x + block.ls_1(_self_attention(block.attn, block.ln_1(x), mask))
            x = x + block.ls_2(block.mlp(block.ln_2(x)))
        x = model.ln_final(x)
        x = x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)]
        projection = model.text_projection
        return projection(x) if isinstance(projection, torch.nn.Linear) else x @ projection


def _self_attention(attn: torch.nn.MultiheadAttention, x: torch.Tensor, mask: torch.Tensor):
    batch, heads, head_dim = x.shape[0], attn.num_heads, attn.head_dim
    q, k, v = (x @ attn.in_proj_weight.T + attn.in_proj_bias).chunk(3, dim=-1)
    q, k, v = (t.reshape(batch, -1, heads, head_dim).transpose(1, 2) for t in (q, k, v))
    weights = (q @ k.transpose(-1, -2)) * head_dim**-0.5 + mask
    out = (weights.softmax(dim=-1) @ v).transpose(1, 2).reshape(batch, -1, heads * head_dim)
    return attn.out_proj(out)


def cut_after_end_token(tokens: torch.Tensor) -> torch.Tensor:
    """A causal tower pools at the end token (the largest id), so the padding after the last
    one never influences the result: cut it (77 -> ~5 tokens for a query)."""
    return tokens[:, : int(tokens.argmax(dim=-1).max()) + 1]


def text_tower_supported(clip_model: torch.nn.Module) -> bool:
    """True for open_clip's standard causal text tower (the one _TextTower re-writes)."""
    transformer = getattr(clip_model, "transformer", None)
    return (
        getattr(clip_model, "text_pool_type", None) == "argmax"
        and getattr(clip_model, "attn_mask", None) is not None
        and getattr(transformer, "batch_first", False)
        and all(
            type(block) is ResidualAttentionBlock
            and not hasattr(block, "ln_1_kv")
            and block.attn.in_proj_weight is not None
            for block in transformer.resblocks
        )
    )


ONNX_FORMATS = ("onnx-fp32", "int8")


def int8_weight_type() -> QuantType:
    """Signed weights where the CPU has int8 dot products, unsigned elsewhere (see above)."""
    return QuantType.QInt8 if has_int8_dot_products() else QuantType.QUInt8


def export_once(
    clip_model: torch.nn.Module, *, tower: str, fmt: str, identity: str, cache_dir: Path
) -> Path:
    """The ONNX file of one tower ("image" or "text") in `fmt` ("onnx-fp32" or "int8"),
    exported on first use. int8 files are quantized from the fp32 one."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    stem = f"{tower}-tower-{digest}"
    fp32_path = cache_dir / f"{stem}-fp32-v{EXPORT_VERSION}.onnx"
    if not fp32_path.exists():
        _export_fp32(clip_model, tower, fp32_path)
    if fmt == "onnx-fp32":
        return fp32_path
    weight_type = int8_weight_type()
    path = cache_dir / f"{stem}-int8-{weight_type.name.lower()}-v{EXPORT_VERSION}.onnx"
    if not path.exists():
        with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
            quantized = Path(tmp) / "int8.onnx"
            quantize_dynamic(
                str(fp32_path),
                str(quantized),
                weight_type=weight_type,
                per_channel=True,
                # Not the patch embedding's Conv: ONNX Runtime's ConvInteger was 4.7% of the
                # ViT-B-32 image tower's time for a small share of its FLOPs (batch 32: 60.1 ->
                # 59.2 ms per image, batch 1: 72.4 -> 60.2 ms; cosine to fp32 0.99983 ->
                # 0.99985, AVX2 EPYC). Gather: the token embedding table (100 MB in fp32).
                op_types_to_quantize=["MatMul", "Gemm", "Gather"],
            )
            # Atomic: workers on one machine may export at the same time; the last rename wins.
            os.replace(quantized, path)
    return path


class OnnxTower:
    """One exported tower of a CLIP model, run on ONNX Runtime."""

    def __init__(self, path: Path, *, tower: str):
        options = onnxruntime.SessionOptions()
        # A query of a few tokens gains little from a second thread (4.2 vs 5.1 ms alone), and
        # search encodes it while the database runs the keyword half (retrieval/search.py):
        # there one thread won, HTTP text search 20.7 vs 23.8 ms with two (bench/search.py).
        options.intra_op_num_threads = torch.get_num_threads() if tower == "image" else 1
        spin = "1" if settings.FIDELIS_ONNX_SPIN else "0"
        options.add_session_config_entry("session.intra_op.allow_spinning", spin)
        self.input_name = "pixels" if tower == "image" else "tokens"
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.input_name == "tokens":
            array = cut_after_end_token(inputs).numpy()
        else:
            array = inputs.float().numpy()
        (features,) = self.session.run(None, {self.input_name: array})
        return torch.from_numpy(np.asarray(features))


def _export_fp32(clip_model: torch.nn.Module, tower: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if tower == "image":
        size = clip_model.visual.image_size
        size = size if isinstance(size, tuple) else (size, size)
        module, example = _ImageTower(clip_model), torch.zeros(2, 3, *size)
        axes = {"pixels": {0: "batch"}, "features": {0: "batch"}}
    else:
        module, example = _TextTower(clip_model), torch.ones(2, 5, dtype=torch.long)
        axes = {"tokens": {0: "batch", 1: "length"}, "features": {0: "batch"}}
    input_name = next(iter(axes))
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        exported = Path(tmp) / "fp32.onnx"
        with warnings.catch_warnings():  # the tracer's notes on shapes the towers never vary
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module.eval(),
                (example,),
                str(exported),
                input_names=[input_name],
                output_names=["features"],
                dynamic_axes=axes,
                dynamo=False,
                opset_version=17,
            )
        os.replace(exported, path)

"""What this machine's CPU offers a neural network, read once from the operating system.

Which number format is fastest and faithful depends on a few instruction sets: int8 dot
products (VNNI) and native bf16 matmuls. Two EPYC machines here differed in exactly those, and
int8 that was fast and faithful on one was slow and unfaithful on the other.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
from pathlib import Path

import onnxruntime
import torch

# Flags that change which format wins (x86 names from /proc/cpuinfo, then aarch64's).
RELEVANT_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
    "asimddp",
    "i8mm",
    "bf16",
    "sve",
)
INT8_DOT_PRODUCT_FLAGS = {"avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm"}
NATIVE_BF16_FLAGS = {"avx512_bf16", "amx_bf16", "bf16"}


@functools.cache
def cpu_info() -> dict:
    """The CPU's model name, architecture and the flags in RELEVANT_FLAGS that it has."""
    model, flags = platform.processor() or "unknown", set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key in {"model name", "cpu model"} and model in {"unknown", ""}:
                model = value.strip()
            elif key in {"flags", "features"} and not flags:
                flags = set(value.split())
    return {
        "model": model or "unknown",
        "machine": platform.machine(),
        "flags": [flag for flag in RELEVANT_FLAGS if flag in flags],
    }


def has_int8_dot_products() -> bool:
    return bool(INT8_DOT_PRODUCT_FLAGS & set(cpu_info()["flags"]))


def has_native_bf16() -> bool:
    return bool(NATIVE_BF16_FLAGS & set(cpu_info()["flags"]))


def cpu_signature() -> str:
    """Names what a format measurement depends on: the CPU, the threads, the kernels' versions."""
    described = {
        **cpu_info(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]

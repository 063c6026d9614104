"""Which number format each tower of an encoder runs in: measured on this machine, not assumed.

The first time an encoder identity starts on a CPU, every candidate format of each tower
encodes a fixed calibration set of real photos and shopper queries (retrieval/calibration/).
The fastest whose minimum cosine to fp32 is >= MIN_COSINE is kept. The decision, with every
measurement, is cached beside the exported models, keyed by the model identity and the CPU
signature (retrieval/cpu.py), and logged once; later processes on that machine read it.

Why: int8 was 3x faster than fp32 and faithful on an AVX-512 VNNI machine, and slower and
unfaithful on an AVX2 one. FIDELIS_ENCODER_PRECISION still forces one format for both towers.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import json
import logging
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from retrieval import towers
from retrieval.cpu import cpu_info, cpu_signature, has_native_bf16
from retrieval.onnx_export import EXPORT_VERSION

logger = logging.getLogger("fidelis.encoders")

MIN_COSINE = 0.999
# Fastest first is only a guess; every candidate is measured. fp32 is the reference.
CANDIDATES = ("int8", "onnx-fp32", "bf16", "fp32")
# Rounds over all candidates in turn, so a noisy neighbour slows every candidate alike.
ROUNDS = 3
CALIBRATION_DIR = Path(__file__).parent / "calibration"
# Bump when the measurement changes, so old decisions are measured again (a new export
# version of the ONNX files also invalidates them).
DECISION_VERSION = 1


@dataclass(frozen=True)
class Measurement:
    ms: float  # image: ms per image, mean of one at a time and as one batch; text: ms per query
    min_cosine: float


def choose(measurements: dict[str, Measurement]) -> str:
    """The fastest format whose minimum cosine to fp32 is >= MIN_COSINE (fp32 always is)."""
    faithful = {f: m for f, m in measurements.items() if m.min_cosine >= MIN_COSINE}
    if not faithful:
        return "fp32"
    return min(faithful, key=lambda fmt: (faithful[fmt].ms, CANDIDATES.index(fmt)))


def candidates(model: torch.nn.Module, tower: str) -> list[str]:
    """The formats worth measuring here: bf16 only where the CPU computes in bf16 natively
    (elsewhere torch emulates it, slower than fp32)."""
    return [
        fmt
        for fmt in CANDIDATES
        if towers.can_run(model, tower, fmt) and (fmt != "bf16" or has_native_bf16())
    ]


def calibration_photos() -> list[Path]:
    return sorted((CALIBRATION_DIR / "photos").glob("*.jpg"))


def calibration_texts() -> list[str]:
    lines = (CALIBRATION_DIR / "texts.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip()]


def decision_path(identity: str, cache_dir: Path) -> Path:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    version = f"v{DECISION_VERSION}.{EXPORT_VERSION}"
    return cache_dir / f"formats-{digest}-{cpu_signature()}-{version}.json"


def formats_for(
    model: torch.nn.Module,
    *,
    identity: str,
    cache_dir: Path,
    pixels_of: Callable[[Image.Image], torch.Tensor],
    tokenize: Callable[[list[str]], torch.Tensor],
) -> dict:
    """The decision for this model on this CPU: {"image": fmt, "text": fmt, ...measurements}.

    Measured on first use, under a file lock: processes starting together on a new machine
    measure once, not all at once on the same cores (which would also skew the timings).
    """
    path = decision_path(identity, cache_dir)
    if path.exists():
        return json.loads(path.read_text())
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(path.with_suffix(".lock")):
        if path.exists():  # another process measured while this one waited
            return json.loads(path.read_text())
        logger.info("Measuring number formats for %s on this CPU (once)", identity)
        decision = {
            "identity": identity,
            "cpu": cpu_info(),
            "cpu_signature": cpu_signature(),
            "threads": torch.get_num_threads(),
            "min_cosine": MIN_COSINE,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if not calibration_photos() or not calibration_texts():
            raise FileNotFoundError(
                f"The calibration set is missing under {CALIBRATION_DIR}: restore it from git, "
                "or set FIDELIS_ENCODER_PRECISION to force a format."
            )
        pixels = torch.stack([pixels_of(_open_rgb(p)) for p in calibration_photos()])
        tokens = tokenize(calibration_texts())
        for tower, inputs in (("image", pixels), ("text", tokens)):
            measured = _measure_tower(model, tower, inputs, identity=identity, cache=cache_dir)
            decision[tower] = choose(measured)
            decision[f"{tower}_candidates"] = {
                fmt: {"ms": round(m.ms, 3), "min_cosine": round(m.min_cosine, 6)}
                for fmt, m in measured.items()
            }
        # Atomic: other processes look for the file without taking the lock.
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(decision, indent=2) + "\n")
        os.replace(partial, path)
    logger.info(
        "Encoder %s on %s (%s): image tower %s, text tower %s (fastest with cosine to fp32 >= "
        "%s; measurements in %s)",
        identity,
        decision["cpu"]["model"],
        " ".join(decision["cpu"]["flags"]) or "no relevant flags",
        decision["image"],
        decision["text"],
        MIN_COSINE,
        path,
    )
    return decision


def _measure_tower(
    model: torch.nn.Module, tower: str, inputs: torch.Tensor, *, identity: str, cache: Path
) -> dict[str, Measurement]:
    runners = {}
    for fmt in candidates(model, tower):
        if fmt in towers.TORCH_DTYPES:
            runners[fmt] = _torch_runner(model, tower, towers.TORCH_DTYPES[fmt])
        else:
            runners[fmt] = towers.onnx_tower(
                model, tower=tower, fmt=fmt, identity=identity, cache_dir=cache
            )
    with torch.inference_mode():
        # The first pass also warms every runner up before it is timed.
        encoded = {fmt: _unit(_encode_all(run, tower, inputs)) for fmt, run in runners.items()}
        cosines = {
            fmt: float((vectors * encoded["fp32"]).sum(axis=1).min())
            for fmt, vectors in encoded.items()
        }
        timings: dict[str, list[float]] = {fmt: [] for fmt in runners}
        for _ in range(ROUNDS):
            for fmt, run in runners.items():
                timings[fmt].append(_time_tower(run, tower, inputs))
    return {
        fmt: Measurement(ms=statistics.median(timings[fmt]), min_cosine=cosines[fmt])
        for fmt in runners
    }


def _torch_runner(model: torch.nn.Module, tower: str, dtype: torch.dtype) -> towers.Tower:
    if dtype != torch.float32:  # measured on a copy: the model itself stays fp32
        model = copy.deepcopy(model)
        cast = towers.cast_image_tower if tower == "image" else towers.cast_text_tower
        cast(model, dtype)
    if tower == "image":
        return towers.TorchImageTower(model, dtype)
    return towers.TorchTextTower(model, dtype)


def _time_tower(run: towers.Tower, tower: str, inputs: torch.Tensor) -> float:
    """ms per image (the mean of one at a time, as photo search does, and as one batch, as
    indexing does) or ms per query (one at a time, as text search does)."""
    if tower == "text":
        started = time.perf_counter()
        _each(run, inputs)
        return (time.perf_counter() - started) * 1e3 / len(inputs)
    started = time.perf_counter()
    for row in inputs[:4]:
        run(row[None])
    one_at_a_time = (time.perf_counter() - started) * 1e3 / 4
    started = time.perf_counter()
    run(inputs)
    batched = (time.perf_counter() - started) * 1e3 / len(inputs)
    return (one_at_a_time + batched) / 2


def _encode_all(run: towers.Tower, tower: str, inputs: torch.Tensor) -> torch.Tensor:
    return run(inputs) if tower == "image" else _each(run, inputs)


def _each(run: towers.Tower, tokens: torch.Tensor) -> torch.Tensor:
    # Queries are encoded one by one in search, each cut after its own end token.
    return torch.cat([run(row[None]) for row in tokens])


def _unit(features: torch.Tensor) -> np.ndarray:
    return torch.nn.functional.normalize(features.float(), dim=-1).numpy()


def _open_rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)

"""Diffusion pipelines built from a name and a source, like the CLIP encoders.

FIDELIS_GENERATOR is `tiny` (a Stable-Diffusion-shaped pipeline built from
creation/profiles/tiny.json with seeded random weights: tests, CI, the offline demo) or a diffusers
hub repo id / local folder holding a Stable Diffusion pipeline. Both give one text-to-image and one
image-to-image pipeline sharing the same weights, and run through the same `generate` function.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch
from django.conf import settings
from PIL import Image

logger = logging.getLogger("fidelis.creation")

PROFILES_DIR = Path(__file__).parent / "profiles"


class Cancelled(Exception):
    """The job was cancelled between two denoising steps."""


@dataclass(frozen=True)
class Sizes:
    default_size: int
    max_size: int


def generator_sizes() -> Sizes:
    """The image sizes the configured generator makes, without loading it: the app processes
    check create requests with these, and only the workers load the model (gigabytes)."""
    if settings.FIDELIS_GENERATOR == "tiny":
        config = json.loads((PROFILES_DIR / "tiny.json").read_text())
        return Sizes(config["default_size"], config["max_size"])
    return Sizes(default_size=512, max_size=1024)  # Stable Diffusion 1.x/2.x at 512


@dataclass
class Generator:
    identity: str  # stored with every image it makes, e.g. "tiny-sd@3f2a9c01"
    text_to_image: object
    image_to_image: object
    random_weights: bool


def _clip_tokenizer(folder: Path):
    """transformers' CLIPTokenizer from open_clip's bundled BPE vocabulary (no download).

    Same 49,408 ids as CLIP: open_clip's <start_of_text>/<end_of_text> are renamed to CLIP's.
    """
    from open_clip.tokenizer import SimpleTokenizer, default_bpe
    from transformers import CLIPTokenizer

    rename = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    vocab = {rename.get(k, k): v for k, v in SimpleTokenizer().encoder.items()}
    with gzip.open(default_bpe()) as bpe:
        merges = bpe.read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges))
    return CLIPTokenizer(
        str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77
    )


def _tiny() -> Generator:
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionImg2ImgPipeline,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from diffusers.utils import logging as diffusers_logging
    from transformers import CLIPTextConfig, CLIPTextModel

    # The tiny profile has no safety checker to disable warnings about (it generates noise).
    diffusers_logging.set_verbosity_error()

    text = (PROFILES_DIR / "tiny.json").read_text()
    config = json.loads(text)
    torch.manual_seed(config["seed"])  # the random weights are the same on every machine
    with tempfile.TemporaryDirectory() as folder:
        tokenizer = _clip_tokenizer(Path(folder))
    parts = {
        "unet": UNet2DConditionModel(**config["unet"]),
        "vae": AutoencoderKL(**config["vae"]),
        "text_encoder": CLIPTextModel(CLIPTextConfig(**config["text_encoder"])),
        "tokenizer": tokenizer,
        "scheduler": DDIMScheduler(**config["scheduler"]),
        "safety_checker": None,
        "feature_extractor": None,
        "requires_safety_checker": False,
    }
    for part in ("unet", "vae", "text_encoder"):
        parts[part].eval()
    text_to_image = StableDiffusionPipeline(**parts)
    return Generator(
        identity=f"tiny-sd@{hashlib.sha256(text.encode()).hexdigest()[:8]}",
        text_to_image=text_to_image,
        image_to_image=StableDiffusionImg2ImgPipeline(**text_to_image.components),
        random_weights=True,
    )


def _pretrained(source: str) -> Generator:
    """A Stable Diffusion pipeline from a hub repo id (cache only, no network) or a local folder."""
    from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image

    local = Path(source).expanduser()
    text_to_image = AutoPipelineForText2Image.from_pretrained(
        str(local) if local.is_dir() else source,
        torch_dtype=torch.bfloat16,  # ~2x fp32 on these CPUs (../shared/MODELS.md)
        safety_checker=None,
        local_files_only=True,
    )
    return Generator(
        identity=f"diffusers:{source}",
        text_to_image=text_to_image,
        image_to_image=AutoPipelineForImage2Image.from_pipe(text_to_image),
        random_weights=False,
    )


# Concurrent first calls (gunicorn threads) once failed inside diffusers' lazy imports with an
# ImportError: one thread loads the generator, the others wait for it.
_loading = threading.Lock()


def get_generator() -> Generator:
    with _loading:
        return _load_generator()


@cache
def _load_generator() -> Generator:
    name = settings.FIDELIS_GENERATOR
    try:
        generator = _tiny() if name == "tiny" else _pretrained(name)
    except OSError as err:
        raise RuntimeError(
            f"Cannot load the generator {name!r}: {err}. There is no network here: put a "
            "diffusers Stable Diffusion folder on disk and set FIDELIS_GENERATOR to its path, "
            "or use FIDELIS_GENERATOR=tiny."
        ) from err
    for pipe in (generator.text_to_image, generator.image_to_image):
        pipe.set_progress_bar_config(disable=True)
    if generator.random_weights:
        logger.warning("Generator %s has RANDOM weights: images are noise.", generator.identity)
    return generator


def inference_steps(steps: int, strength: float | None) -> int:
    """Denoising steps a run performs: image-to-image skips the first (1 - strength) of them."""
    return steps if strength is None else max(1, int(steps * strength))


def generate(
    *,
    prompt: str,
    negative_prompt: str,
    seed: int,
    steps: int,
    guidance_scale: float,
    width: int,
    height: int,
    init_image: Image.Image | None = None,
    strength: float | None = None,
    on_step: Callable[[int], bool] | None = None,
) -> Image.Image:
    """One image. `on_step(done)` runs after every denoising step; returning False cancels.

    The same arguments and the same generator give the same pixels (seeded CPU generator).
    """
    generator = get_generator()
    cancelled = False

    def step_end(pipe, step, timestep, tensors):
        nonlocal cancelled
        if on_step is not None and on_step(step + 1) is False:
            cancelled = True
            pipe._interrupt = True  # diffusers skips the remaining steps
        return tensors

    common = {
        "prompt": prompt,
        "negative_prompt": negative_prompt or None,
        "num_inference_steps": steps,
        "guidance_scale": guidance_scale,
        "generator": torch.Generator("cpu").manual_seed(seed),
        "callback_on_step_end": step_end,
    }
    with torch.inference_mode():
        if init_image is None:
            result = generator.text_to_image(width=width, height=height, **common)
        else:
            source = init_image.convert("RGB").resize((width, height), Image.LANCZOS)
            result = generator.image_to_image(image=source, strength=strength, **common)
    if cancelled:
        raise Cancelled
    return result.images[0]

"""CLIP's image preprocessing in PIL and NumPy: the pixels open_clip's torchvision pipeline
gives, bit for bit (tests/retrieval/test_encoders.py), in a fraction of its time.

open_clip's eval transform is resize (shortest side, bicubic), centre crop, to tensor,
normalise. Through torchvision it took 3.6 ms of a 400x711 photo search, this ~1 ms
(bench/search.py's photo search). Any other transform is left to torchvision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode

# The class names of open_clip's standard eval transform (open_clip/transform.py), in order.
_STANDARD_STEPS = ["Resize", "CenterCrop", "MaybeConvertMode", "MaybeToTensor", "Normalize"]


@dataclass(frozen=True)
class ClipPixels:
    size: int
    mean: np.ndarray  # (3, 1, 1) float32
    std: np.ndarray

    @classmethod
    def matching(cls, preprocess) -> ClipPixels | None:
        """The equivalent of `preprocess`, or None when it is not the standard eval transform."""
        steps = getattr(preprocess, "transforms", [])
        if [type(step).__name__ for step in steps] != _STANDARD_STEPS:
            return None
        resize, crop, convert, _, normalize = steps
        size = resize.size if isinstance(resize.size, int) else resize.size[0]
        if not (
            (isinstance(resize.size, int) or len(resize.size) == 1)
            and resize.interpolation == InterpolationMode.BICUBIC
            and resize.max_size is None
            and tuple(crop.size) == (size, size)
            and convert.mode == "RGB"
            and not normalize.inplace
        ):
            return None
        return cls(
            size=size,
            mean=np.asarray(normalize.mean, dtype=np.float32).reshape(3, 1, 1),
            std=np.asarray(normalize.std, dtype=np.float32).reshape(3, 1, 1),
        )

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """An RGB image -> the (3, size, size) normalised float tensor."""
        width, height = image.size
        # torchvision's rounding: the short side becomes `size`, the long side is truncated.
        if width <= height:
            new_width, new_height = self.size, int(self.size * height / width)
        else:
            new_width, new_height = int(self.size * width / height), self.size
        resized = image.resize((new_width, new_height), Image.Resampling.BICUBIC)
        left = round((new_width - self.size) / 2.0)
        top = round((new_height - self.size) / 2.0)
        cropped = resized.crop((left, top, left + self.size, top + self.size))
        scaled = np.asarray(cropped, dtype=np.float32).transpose(2, 0, 1) / np.float32(255)
        return torch.from_numpy(np.ascontiguousarray((scaled - self.mean) / self.std))

"""The image tower on ONNX Runtime with dynamic int8 weights (precision "int8").

Measured here (AMD EPYC, AVX-512 VNNI, 2 cores, ViT-B-32, batch 32): 44-53 images/s against
40 for torch bf16 and 19-21 for torch fp32, at cosine 0.9998 to the fp32 embedding. The model
is exported and quantized once (about 8 s for ViT-B-32) and cached on disk per encoder identity.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic


class _ImageTower(torch.nn.Module):
    def __init__(self, clip_model: torch.nn.Module):
        super().__init__()
        self.clip_model = clip_model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.clip_model.encode_image(pixels)


class OnnxInt8ImageTower:
    def __init__(self, clip_model: torch.nn.Module, *, identity: str, cache_dir: Path):
        digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
        path = cache_dir / f"image-tower-{digest}-int8.onnx"
        if not path.exists():
            _export_quantized(clip_model, path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        (features,) = self.session.run(None, {"pixels": pixels.float().numpy()})
        return torch.from_numpy(np.asarray(features))


def _export_quantized(clip_model: torch.nn.Module, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    size = clip_model.visual.image_size
    size = size if isinstance(size, tuple) else (size, size)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        fp32_path, int8_path = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        torch.onnx.export(
            _ImageTower(clip_model.float()).eval(),
            (torch.zeros(2, 3, *size),),
            str(fp32_path),
            input_names=["pixels"],
            output_names=["features"],
            dynamic_axes={"pixels": {0: "batch"}, "features": {0: "batch"}},
            dynamo=False,
            opset_version=17,
        )
        quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8)
        # Atomic: workers on one machine may export at the same time; the last rename wins.
        os.replace(int8_path, path)

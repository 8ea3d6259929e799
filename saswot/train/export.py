"""ONNX export, verified against PyTorch with onnxruntime before the file is put in place."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from saswot.errors import SaswotError
from saswot.io import atomic_path


class ExportError(SaswotError):
    """The exported ONNX model does not reproduce the PyTorch outputs."""


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike[str],
    resolution: tuple[int, int],
    opset: int = 17,
    atol: float = 1e-3,
    seed: int = 0,
) -> dict[str, Any]:
    """Export ``model`` (eval mode, batch 1, fixed H×W) to ONNX and verify it with onnxruntime.

    The file is written to a temporary path, checked (``onnx.checker`` + onnxruntime on a
    random input, max abs diff of the logits ≤ ``atol``) and only then renamed to ``path``.

    Returns:
        ``{"path", "resolution", "opset", "max_abs_diff", "atol", "size_bytes"}``.

    Raises:
        ExportError: the outputs differ by more than ``atol`` (nothing is written).
    """
    import onnx
    import onnxruntime as ort

    model = model.float().cpu().eval()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 3, *resolution, generator=g)
    with torch.no_grad():
        ref = model(x)
    ref = ref[0] if isinstance(ref, (tuple, list)) else ref
    target = Path(path)
    with atomic_path(target) as tmp:
        with warnings.catch_warnings():
            # the TorchScript exporter is used on purpose: the dynamo exporter needs onnxscript
            warnings.simplefilter("ignore", DeprecationWarning)
            # export is at a fixed resolution, so shape-dependent Python values are constants
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(
                model, (x,), str(tmp), input_names=["image"], output_names=["logits"],
                opset_version=opset, dynamo=False, do_constant_folding=True,
            )
        onnx.checker.check_model(str(tmp))
        sess = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        (out,) = sess.run(["logits"], {"image": x.numpy()})
        diff = float(np.max(np.abs(out - ref.numpy())))
        if not diff <= atol:
            raise ExportError(
                f"ONNX output differs from PyTorch by {diff:.3g} (> tolerance {atol:g}); nothing written. "
                "Try another --opset or report the model."
            )
        size = tmp.stat().st_size
    return {"path": str(target), "resolution": list(resolution), "opset": opset,
            "max_abs_diff": diff, "atol": atol, "size_bytes": size}

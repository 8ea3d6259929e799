"""ONNX export, verified against PyTorch with onnxruntime before the file is put in place."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from saswot.errors import SaswotError
from saswot.proxies._stats import main_output
from saswot.utils.io import atomic_path


class ExportError(SaswotError):
    """The exported ONNX model does not reproduce the PyTorch outputs."""


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike[str],
    resolution: tuple[int, int],
    opset: int = 17,
    atol: float = 1e-3,
    seed: int = 0,
    rtol: float = 1e-3,
) -> dict[str, Any]:
    """Export ``model`` (eval mode, batch 1, fixed H×W) to ONNX and verify it with onnxruntime.

    The file is written to a temporary path, checked (``onnx.checker`` + onnxruntime on a
    random input: every logit within ``atol + rtol * |PyTorch logit|``, as ``numpy.allclose``)
    and only then renamed to ``path``. A relative tolerance keeps the check meaningful for
    trained networks, whose logits reach tens or hundreds.

    Returns:
        ``{"path", "resolution", "opset", "max_abs_diff", "max_rel_diff", "atol", "rtol",
        "pixel_agreement", "size_bytes"}`` (``pixel_agreement``: share of pixels whose predicted
        class is the same in both).

    Raises:
        ExportError: some logits differ by more than the tolerance; the message says how many,
            where the worst one is and how many predicted pixels change (nothing is written).
    """
    import onnxruntime as ort

    model = model.float().cpu().eval()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 3, *resolution, generator=g)
    with torch.no_grad():
        ref = main_output(model(x))
    target = Path(path)
    with atomic_path(target) as tmp:
        with warnings.catch_warnings():
            # the TorchScript exporter is used on purpose: the dynamo exporter needs onnxscript
            warnings.simplefilter("ignore", DeprecationWarning)
            # export is at a fixed resolution, so shape-dependent Python values are constants
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(
                model,
                (x,),
                str(tmp),
                input_names=["image"],
                output_names=["logits"],
                opset_version=opset,
                dynamo=False,
                do_constant_folding=True,
            )
        onnx.checker.check_model(str(tmp))
        sess = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        out = sess.run(None, {"image": x.numpy()})[0]
        report = compare_logits(out, ref.numpy(), atol, rtol)
        size = tmp.stat().st_size
    return {"path": str(target), "resolution": list(resolution), "opset": opset, **report, "size_bytes": size}


def compare_logits(out: np.ndarray, ref: np.ndarray, atol: float, rtol: float) -> dict[str, Any]:
    """Compare exported logits ``out`` with PyTorch's ``ref`` (both 1 x C x H x W).

    Returns:
        ``{"max_abs_diff", "max_rel_diff", "max_tolerance_used", "atol", "rtol", "pixel_agreement"}``;
        ``max_tolerance_used`` is the check's own measure (the largest ``|diff| / (atol + rtol |ref|)``,
        at most 1 when it passes); ``max_rel_diff`` is large wherever a logit is near zero.

    Raises:
        ExportError: a shape differs, or some logit is outside ``atol + rtol * |ref|``.
    """
    if out.shape != ref.shape:
        raise ExportError(f"ONNX output has shape {out.shape}, PyTorch {ref.shape}; nothing written")
    diff = np.abs(out.astype(np.float64) - ref.astype(np.float64))
    bound = atol + rtol * np.abs(ref)
    with np.errstate(all="ignore"):  # a zero or negative bound (atol 0, a logit at 0) gives inf: the check fails
        used = float(np.nanmax(diff / np.where(bound > 0, bound, 0.0))) if diff.size else 0.0
    bad = ~(diff <= bound)  # NaN counts as bad
    agreement = float(np.mean(out.argmax(axis=1) == ref.argmax(axis=1))) if ref.ndim == 4 else float("nan")
    max_abs = float(np.nanmax(diff)) if np.isfinite(diff).any() else float("inf")
    report = {
        "max_abs_diff": max_abs,
        "max_rel_diff": float(np.nanmax(diff / np.maximum(np.abs(ref), 1e-12))),
        # the check itself: the largest |onnx - torch| / (atol + rtol * |torch|); at most 1 passes
        "max_tolerance_used": used,
        "atol": atol,
        "rtol": rtol,
        "pixel_agreement": agreement,
    }
    if bad.any():
        worst = np.unravel_index(int(np.nanargmax(np.where(np.isnan(diff), np.inf, diff))), diff.shape)
        where = f"class {worst[1]}, pixel {tuple(int(i) for i in worst[2:])}" if ref.ndim == 4 else f"index {worst}"
        raise ExportError(
            f"ONNX output differs from PyTorch: {int(bad.sum())} of {bad.size} logits "
            f"({100 * bad.mean():.3g} %) exceed atol {atol:g} + rtol {rtol:g} x |logit|; the worst is at {where}: "
            f"{float(out[worst]):.6g} vs {float(ref[worst]):.6g}; predicted classes agree on "
            f"{100 * agreement:.2f} % of pixels. Nothing written; try another {{opset}}, or loosen {{rtol}}/{{atol}} "
            "if that agreement is enough for you."
        )
    return report

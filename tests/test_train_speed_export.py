"""measure_fps and ONNX export on a tiny network on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saswot.errors import ResourceError
from saswot.train.export import compare_logits, ExportError, export_onnx
from saswot.train.fps import measure_fps
from saswot.train.models import ModelSpec, build_model


def _tiny() -> torch.nn.Module:
    return build_model(ModelSpec("tiny", 5), seed=0).eval()


def test_measure_fps_reports_consistent_numbers() -> None:
    res = measure_fps(_tiny(), (32, 48), "cpu", "fp32", batch_size=2, warmup=1, runs=5)
    assert res.runs == 5 and res.resolution == (32, 48)
    assert res.latency_ms_min <= res.latency_ms_median <= res.latency_ms_p90
    assert res.fps == pytest.approx(2 * 1000.0 / res.latency_ms_median)
    assert set(res.to_json()) >= {"fps", "latency_ms_median", "latency_ms_p90"}


def test_fp16_on_cpu_is_refused() -> None:
    with pytest.raises(ResourceError, match="CUDA"):
        measure_fps(_tiny(), (32, 32), "cpu", "fp16")


def test_export_verified_with_onnxruntime(tmp_path) -> None:
    out = tmp_path / "tiny.onnx"
    report = export_onnx(_tiny(), out, (32, 48))
    assert out.is_file() and report["max_abs_diff"] < 1e-4
    import onnxruntime as ort

    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"image": torch.zeros(1, 3, 32, 48).numpy()})
    assert y.shape == (1, 5, 32, 48)


def test_export_above_tolerance_fails_and_writes_nothing(tmp_path) -> None:
    out = tmp_path / "bad.onnx"
    with pytest.raises(ExportError, match="exceed atol -1 \\+ rtol 0 x \\|logit\\|; the worst is at class"):
        export_onnx(_tiny(), out, (32, 32), atol=-1.0, rtol=0.0)
    assert list(tmp_path.iterdir()) == []


def test_logit_check_is_relative_and_says_what_differs() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 200, size=(1, 3, 4, 5)).astype(np.float32)  # trained nets: logits in the hundreds
    close = ref * (1 + 1e-5)
    report = compare_logits(close, ref, atol=1e-3, rtol=1e-3)
    assert report["max_abs_diff"] > 1e-3  # an absolute-only check would have failed here
    assert report["pixel_agreement"] == 1.0
    far = ref.copy()
    far[0, 2, 1, 3] += 1e3
    with pytest.raises(ExportError, match=r"1 of 60 logits .* class 2, pixel \(1, 3\)"):
        compare_logits(far, ref, atol=1e-3, rtol=1e-3)

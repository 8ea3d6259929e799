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


def test_measure_fps_onnx_times_the_exported_graph(tmp_path) -> None:
    from saswot.train.fps import measure_fps_onnx

    path = tmp_path / "tiny.onnx"
    export_onnx(_tiny(), path, (32, 48))
    res = measure_fps_onnx(path, (32, 48), "cpu", warmup=1, runs=7, threads=1)
    assert (res.backend, res.device, res.precision, res.batch_size, res.runs, res.threads) == (
        "onnxruntime", "cpu", "fp32", 1, 7, 1)
    assert 0 < res.latency_ms_min <= res.latency_ms_median <= res.latency_ms_p90
    assert res.fps == pytest.approx(1000.0 / res.latency_ms_median)
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(ResourceError, match="onnxruntime-gpu"):
            measure_fps_onnx(path, (32, 48), "cuda")


def test_fps_cli_backends(tmp_path, capsys) -> None:
    import json

    from saswot.cli.main import main

    assert main(["fps", "tiny", "--resolution", "32x48", "--backend", "onnxruntime", "--runs", "3", "--warmup", "1",
                 "--threads", "1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["backend"] == "onnxruntime" and d["runs"] == 3 and d["fps"] > 0
    onnx_file = tmp_path / "t.onnx"
    export_onnx(_tiny(), onnx_file, (32, 48))
    out = tmp_path / "fps.json"
    assert main(["fps", str(onnx_file), "--resolution", "32x48", "--runs", "2", "--warmup", "0", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["backend"] == "onnxruntime"  # inferred from the .onnx file
    # what onnxruntime cannot time as asked is refused with the reason
    assert main(["fps", str(onnx_file), "--resolution", "32x48", "--backend", "torch"]) == 2
    assert main(["fps", "tiny", "--resolution", "32x48", "--backend", "onnxruntime", "--batch-size", "2"]) == 2
    assert main(["fps", "tiny", "--resolution", "32x48", "--backend", "tensorrt"]) == 2
    assert "backend" in capsys.readouterr().err

"""The bad inputs a newcomer meets, walked one by one: each gives one ``error:`` line, exit code != 0,
no traceback, and loses no finished result.

Unwritable outputs are simulated with a path below a regular file (the tests run as root, for whom
permission bits do not stop a write).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from saswot.cli.main import main
from saswot.errors import OutputError
from saswot.utils.io import write_json
from saswot.proxies import REGISTRY, resolve_proxies

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _one_error_line(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return errors[0]


@pytest.fixture()
def blocker(tmp_path: Path) -> Path:
    """A regular file: any output path below it cannot be written."""
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


@pytest.fixture(scope="module")
def trained(make_camvid, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny trained checkpoint and its data root."""
    root = make_camvid(tmp_path_factory.mktemp("data"), n_train=2, n_val=1)
    run = tmp_path_factory.mktemp("run")
    assert main(["train", "tiny", "--dataset", "camvid", "--data-root", str(root), "--out", str(run), "--epochs", "1",
                 "--crop", "32x32", "--batch-size", "2", "--workers", "0", "--quiet", "--threads", "1"]) == 0
    return run / "best.pt", root


def test_unwritable_outputs_fail_before_any_work(blocker: Path, trained: tuple[Path, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    ckpt, root = trained
    cases = [
        ["rank", "--space", "micro", "--proxies", "params", "--out", str(blocker / "r.json")],
        ["eval", str(ckpt), "--data-root", str(root), "--out", str(blocker / "e.json"), "--workers", "0"],
        ["train", "tiny", "--dataset", "camvid", "--data-root", str(root), "--out", str(blocker / "run")],
        ["export", str(ckpt), "--onnx", str(blocker / "m.onnx")],
        ["search-arch", "--proxy", "params", "--out", str(blocker / "a.json")],
        ["score", "tests/_tiny_nets.py:tiny_model", "--out", str(blocker / "s.json")],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        _one_error_line(capsys, "is a file, not a folder")
    assert blocker.read_text() == "not a folder"


def test_failed_final_write_keeps_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SASWOT_CACHE", str(tmp_path / "cache"))
    target = tmp_path / "gone" / "result.json"
    target.parent.write_text("the folder was replaced by a file while the command ran")
    with pytest.raises(OutputError, match="it was saved to") as info:
        write_json(target, {"kendall": 0.5})
    fallback = Path(str(info.value).split("saved to '")[1].split("'")[0])
    assert fallback.parent == tmp_path / "cache" / "unsaved"
    assert json.loads(fallback.read_text()) == {"kendall": 0.5}


def test_not_a_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "model.pt"
    fake.write_text("hello")
    for argv in (["eval", str(fake)], ["export", str(fake), "--onnx", str(tmp_path / "m.onnx")],
                 ["fps", str(fake), "--resolution", "32x32"]):
        assert main(argv) == 2
        _one_error_line(capsys, "not a saswot segmentation checkpoint")
    assert not (tmp_path / "m.onnx").exists()


def test_infeasible_budget_is_rejected_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "a.json"
    assert main(["search-arch", "--proxy", "params", "--max-gmacs", "0.5", "--target-resolution", "256x512",
                 "--data", "random", "--out", str(out)]) == 2
    line = _one_error_line(capsys, "--max-gmacs 0.5 is below the cheapest network of the space at 256x512")
    cheapest = float(line.split("256x512: ")[1].split(" GMACs")[0])
    assert 0.5 < cheapest < 5.0
    assert not out.exists()


def test_wrong_data_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rank", "--space", "micro", "--proxies", "params", "--data-root", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "r.json")]) == 2
    _one_error_line(capsys, "TransNAS-Bench-101 benchmark file not found", "--data-root")
    assert main(["eval", "tests/conftest.py", "--dataset", "camvid"]) == 2
    _one_error_line(capsys, "not a saswot segmentation checkpoint")


def test_all_plus_a_proxy_file(tmp_path: Path) -> None:
    src = json.loads(Path("saswot/data/auto-micro.json").read_text())
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({**src, "name": "mine"}))
    names = [s.name for s in resolve_proxies(f"all,{path}")]
    assert names[: len(REGISTRY)] == REGISTRY.names() and names[-1] == "mine"


def test_sample_size_not_below_arch_count_warns(rank_args, tiny_bench: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(rank_args(tiny_bench, tmp_path / "r.json")) == 0
    assert "every sample holds the same architectures" in " ".join(capsys.readouterr().err.split())


def test_concurrent_runs_share_one_cache(rank_args, tiny_bench: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    procs = [subprocess.Popen([sys.executable, "-m", "saswot", *rank_args(tiny_bench, tmp_path / f"r{i}.json"),
                               "--cache", str(cache), "--threads", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
             for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "Traceback" not in err
    a, b = (json.loads((tmp_path / f"r{i}.json").read_text()) for i in range(2))
    assert a["archs"] == b["archs"]
    assert not list(cache.rglob("*.tmp"))


def test_cli_process_prints_no_traceback(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "saswot", "score", "nope:nothing"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 2
    assert res.stderr.startswith("error: cannot import module 'nope'")
    assert "Traceback" not in res.stderr

"""The Ray executor on a real local Ray instance (2 CPUs): same scores as the serial loop, retry
after a killed worker, failure after two deaths, resume from the cache.

Skipped only when Ray (the ``ray`` extra, installed by the ``dev`` extra) is missing. All checks
share one Ray instance and run in one test, so that parallel test runners start a single Ray
instance.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from saswot.cli.main import main
from saswot.runtime.parallel import DIED_TWICE, RayExecutor, make_executor

pytestmark = pytest.mark.ray

DATA = Path(os.environ.get("SASWOT_DATA", "data"))
KEYS = ["(1, 0, 0, 2, 1, 0)", "(2, 2, 1, 0, 0, 0)", "(1, 1, 0, 0, 0, 0)"]


def die_once(folder: str, x: int) -> int:
    """Task: the first attempt at item 1 kills its own worker; every other call returns x (defined
    here, not imported from the local-process tests: Ray pickles it with this module)."""
    marker = Path(folder) / f"died-{x}"
    if x == 1 and not marker.exists():
        marker.write_text("1")
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def die_always(_: str, x: int) -> int:
    """Task: item 2 always kills its worker."""
    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # tests are not importable by workers
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_scores_like_serial_retries_and_resumes(local_ray: None, tmp_path: Path) -> None:
    src = DATA / "tnb101" / "zc_transbench101_micro.json"
    if not src.is_file():
        pytest.skip("TNB101 data not available (set SASWOT_DATA)")
    table = json.loads(src.read_text())["segmentsemantic"]
    keys = [k for k in KEYS if k in table]
    keys += [k for k in table if k not in keys][: 3 - len(keys)]
    bench = tmp_path / "bench_micro.json"
    bench.write_text(json.dumps({"segmentsemantic": {k: table[k] for k in keys}}))

    def args(out: Path, *extra: str) -> list[str]:
        return ["rank", "--space", "micro", "--bench", str(bench), "--proxies", "params,l2_norm,nwot,snip,synflow",
                "--archs", "all", "--samples", "2", "--sample-size", "2", "--batch-size", "2", "--resolution", "64",
                "--data", "random", "--quiet", "--out", str(out), *extra]

    # 1. bit-identical scores: serial (1 torch thread) vs Ray tasks (1 CPU, 1 thread each)
    serial, on_ray = tmp_path / "s" / "r.json", tmp_path / "ray" / "r.json"
    assert main(args(serial, "--threads", "1", "--cache", str(tmp_path / "s" / "cache"))) == 0
    assert main(args(on_ray, "--ray", "--cache", str(tmp_path / "ray" / "cache"))) == 0
    a, b = json.loads(serial.read_text()), json.loads(on_ray.read_text())
    assert a["archs"] == b["archs"]
    assert b["executor"]["kind"] == "ray" and b["executor"]["workers"] == 2 and b["executor"]["cluster_cpus"] == 2
    assert b["timing"]["computed"] == 3 and all(v > 0 for v in b["timing"]["per_arch_s"].values())
    assert ray.is_initialized()  # the caller's Ray connection is left open

    # 2. resume: a rerun on Ray reads every architecture from the cache
    assert main(args(on_ray, "--ray", "--cache", str(tmp_path / "ray" / "cache"))) == 0
    c = json.loads(on_ray.read_text())
    assert c["archs"] == a["archs"] and c["timing"]["cached"] == 3 and c["timing"]["computed"] == 0

    # 3. a killed worker: its task is retried once (and succeeds); killed twice: recorded with the reason
    with make_executor(ray="local") as ex:
        assert isinstance(ex, RayExecutor)
        once = {o.index: o for o in ex.map(die_once, str(tmp_path), [0, 1, 2])}
        assert all(o.ok for o in once.values()) and [once[i].value for i in range(3)] == [0, 1, 2]
        twice = {o.index: o for o in ex.map(die_always, "", [0, 1, 2, 3])}
    assert [twice[i].value for i in (0, 1, 3)] == [0, 1, 3]
    assert not twice[2].ok and twice[2].error.startswith(DIED_TWICE)

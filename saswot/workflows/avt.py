"""Library side of ``saswot avt-calibrate``: min/max of raw proxies over a seeded sample of a space's
benchmark architectures (SasWOT's AVT, paper Eq. 4)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from saswot.config import AVTConfig
from saswot.errors import ParameterError, ScoreError
from saswot.proxies import load_proxy_file, resolve_proxies
from saswot.proxies._avt import calibrate_avt
from saswot.runtime.device import check_device
from saswot.runtime.parallel import DIED_TWICE, Executor, SerialExecutor
from saswot.runtime.seeding import make_rng
from saswot.spaces import BENCHMARK, get_space
from saswot.spaces.base import require_benchmark
from saswot.workflows.score import cache_settings, resolve_data_source, score_space_archs, scoring_timing


def run_avt_calibration(
    req: AVTConfig,
    *,
    proxy_file: str | Path | None = None,
    progress: bool = True,
    executor: Executor | None = None,
    on_note: Callable[[str], None] | None = None,
) -> tuple[Any, Any]:
    """AVT statistics of ``req.proxies`` (and, with ``proxy_file``, new AVT ranges for that proxy file).

    Returns:
        ``(stats, file_ranges)``: the :class:`~saswot.proxies._avt.AVTStats` of the raw proxies, and
        the re-calibrated ranges of the proxy file's expression and nwot (None without ``proxy_file``;
        the caller writes them into the file).

    Raises:
        ParameterError: ``n`` below 2 or an AVT-normalised proxy among ``req.proxies``.
        ScoreError: a worker died twice on some architecture (the others are cached: rerun).
    """
    if req.n < 2:
        raise ParameterError("{n} must be >= 2")
    space = get_space(req.space, BENCHMARK)
    bm = require_benchmark(space, req.bench, req.data_root)
    archs = bm.sample(req.n, make_rng(req.sample_seed), req.task or bm.default_task)
    source = resolve_data_source(req.batch.data, req.data_root, on_note)
    batch = req.batch.replace(
        resolution=(int(req.batch.resolution[0]), int(req.batch.resolution[1])),
        data=source,
        num_classes=space.num_classes,
        device=check_device(req.batch.device),
    )
    recorded = resolve_proxies(req.proxies)
    if any(s.needs_avt for s in recorded):
        raise ParameterError("{proxies}: AVT ranges are taken of raw proxies, not of AVT-based ones (e.g. saswot)")
    specs = recorded
    expression = None
    if proxy_file is not None:
        expression = load_proxy_file(Path(proxy_file), combine=None)
        specs = resolve_proxies([*recorded, expression, "nwot"])
    ex = executor if executor is not None else SerialExecutor()
    per_arch, wall = score_space_archs(
        space,
        archs,
        specs,
        batch,
        cache=req.cache,
        data_root=req.data_root,
        progress=progress,
        description=f"avt {space.name}",
        executor=ex,
    )
    died = sorted(
        k
        for k, rec in per_arch.items()
        if rec.seconds is None and rec.failed and any(v.startswith(DIED_TWICE) for v in rec.failed.values())
    )
    if died:
        raise ScoreError(
            f"cannot calibrate AVT: the worker scoring {len(died)} architecture(s) died twice "
            f"({', '.join(died[:5])}); rerun to score them again (finished ones are cached)"
        )
    keys = [space.key(a) for a in archs]
    lists = {s.name: [per_arch[k].scores[s.name] for k in keys] for s in specs}
    file_ranges = None
    if expression is not None:
        file_ranges = calibrate_avt({"expression": lists[expression.name], "nwot": lists["nwot"]})
    meta = {
        "space": space.name,
        "settings": cache_settings(space.name, batch),
        "sample_seed": req.sample_seed,
        "archs": keys,
        "command": f"saswot avt-calibrate --space {space.name} --n {req.n} --seed {batch.seed} --sample-seed "
        f"{req.sample_seed} --batch-size {batch.batch_size} --resolution {batch.resolution[0]}x{batch.resolution[1]} "
        f"--data {source} --proxies {req.proxies}",
        "executor": ex.describe(),
        "timing": scoring_timing(per_arch, wall),
    }
    stats = calibrate_avt({s.name: lists[s.name] for s in recorded}, meta)
    return stats, file_ranges

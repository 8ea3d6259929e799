"""A small trained ground truth for the FasterSeg space: sample, train, evaluate, append.

The pieces, each usable on its own:

* :mod:`~saswot.workflows.minibench.recipe` – one fixed, short training recipe (a
  :class:`~saswot.train.loop.TrainConfig` template without model, output folder or seed) and its
  identity hash.
* :mod:`~saswot.workflows.minibench.jobfile` – K legal architectures under a GMACs budget, seeded,
  stratified over GMACs, times the training seeds.
* :mod:`saswot.spaces.fasterseg.benchfile` – the JSON-lines result file shared by several processes
  (the FasterSeg space reads its ground truth from it).
* :mod:`~saswot.workflows.minibench.claims` – claims that keep two workers off one job, with leases.
* :mod:`~saswot.workflows.minibench.worker` – the loop: claim, train (resumable), append, release.
* :mod:`~saswot.workflows.minibench.analysis` – proxy scores of the benchmark's architectures,
  correlations with the trained mIoU, Table-4 rows and the noise-study spread.
"""

from saswot.spaces.fasterseg.benchfile import ENTRY_FORMAT, BenchFile, entry_id, load_bench
from saswot.workflows.minibench.analysis import (
    bench_correlations,
    noise_summary,
    proxy_settings_json,
    score_bench_archs,
    summarize_by_label,
)
from saswot.workflows.minibench.claims import Claims
from saswot.workflows.minibench.jobfile import (
    LABEL_SEP,
    Job,
    arch_costs,
    make_jobs,
    sample_archs,
    sampled_jobs,
    spread_order,
)
from saswot.workflows.minibench.recipe import (
    BUDGET_CLASSES,
    DEFAULT_MAX_GMACS,
    DEFAULT_TARGET,
    RECIPES,
    Recipe,
    resolve_recipe,
)
from saswot.workflows.minibench.worker import (
    Progress,
    RunContext,
    claim_next,
    failure_entry,
    progress_of,
    run_worker,
    train_job,
)

__all__ = [
    "BUDGET_CLASSES",
    "DEFAULT_MAX_GMACS",
    "DEFAULT_TARGET",
    "ENTRY_FORMAT",
    "LABEL_SEP",
    "RECIPES",
    "BenchFile",
    "Claims",
    "Job",
    "Progress",
    "Recipe",
    "RunContext",
    "arch_costs",
    "bench_correlations",
    "claim_next",
    "entry_id",
    "failure_entry",
    "load_bench",
    "make_jobs",
    "noise_summary",
    "progress_of",
    "proxy_settings_json",
    "resolve_recipe",
    "run_worker",
    "sample_archs",
    "sampled_jobs",
    "score_bench_archs",
    "spread_order",
    "summarize_by_label",
    "train_job",
]

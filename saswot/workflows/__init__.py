"""The runs behind the commands, over the library: scoring with a cache (:mod:`~saswot.workflows.score`),
ranking proxies against ground truth (:mod:`~saswot.workflows.rank`), AVT calibration
(:mod:`~saswot.workflows.avt`), pool-level ensembles (:mod:`~saswot.workflows.ensemble_rank`), the
few-shot predictor (:mod:`~saswot.search.predictor`) and the FasterSeg trained benchmark
(:mod:`~saswot.workflows.minibench`).
"""

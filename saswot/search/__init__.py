"""Searches: the generic engines (evolution, random search; they know no search space), the proxy
search (:mod:`~saswot.search.proxy_search`, expressions over per-layer statistics) and the
segmenter search (:mod:`~saswot.search.segmenter`, any space with the segmenter-search protocol)."""

from saswot.search.evolution import (
    EvolutionConfig,
    IterationRecord,
    SearchProblem,
    SearchResult,
    evolve,
    random_search,
)

__all__ = [
    "EvolutionConfig",
    "IterationRecord",
    "SearchProblem",
    "SearchResult",
    "evolve",
    "random_search",
]

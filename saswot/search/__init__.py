"""Generic search engines (evolution, random search); they know no search space."""

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

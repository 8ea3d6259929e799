"""saswot: training-free architecture search for real-time semantic segmentation.

The public API, importable from the package root; each name is loaded on first use, so that
``import saswot`` and ``saswot --version`` stay free of torch:

* scoring: :func:`score_network`, :func:`score_network_detailed`, :class:`ScoringSettings`,
  :data:`PROXIES` (the proxy registry);
* settings: :class:`ProxyBatch`, :class:`RankConfig`, :class:`AVTConfig`, :class:`ArchSearchConfig`;
* search spaces: :func:`get_space`, :func:`register_space`, :func:`space_names`;
* runs: :func:`run_rank`, :func:`run_avt_calibration`, :func:`run_arch_search`,
  :func:`run_proxy_search` (with :class:`ProxySearchConfig`).

The package's layers (README, "Layout"): ``config``, ``registry`` and ``errors``; the proxies
(``proxies``, one file per measure in ``proxies.measures``); the search spaces (``spaces``, with
``spaces.tnb101`` and ``spaces.fasterseg`` as plug-ins); the searches (``search``); the runs behind
the commands (``workflows``); ``train``, ``datasets``, ``runtime``, ``utils`` and the ``cli``.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("saswot")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.1.0"

#: Public name -> the module that defines it.
_API = {
    "score_network": "saswot.proxies",
    "score_network_detailed": "saswot.proxies",
    "ScoringSettings": "saswot.proxies",
    "PROXIES": "saswot.proxies",
    "ProxyBatch": "saswot.config",
    "RankConfig": "saswot.config",
    "AVTConfig": "saswot.config",
    "ArchSearchConfig": "saswot.config",
    "get_space": "saswot.spaces",
    "register_space": "saswot.spaces",
    "space_names": "saswot.spaces",
    "run_rank": "saswot.workflows.rank",
    "run_avt_calibration": "saswot.workflows.avt",
    "run_arch_search": "saswot.search.segmenter",
    "run_proxy_search": "saswot.search.proxy_search",
    "ProxySearchConfig": "saswot.search.proxy_search",
}
#: Public names whose attribute in the defining module differs.
_RENAMED = {"PROXIES": "REGISTRY"}


def __getattr__(name: str) -> Any:
    """The public API, loaded on first use."""
    if name not in _API:
        raise AttributeError(f"module 'saswot' has no attribute '{name}'")
    return getattr(import_module(_API[name]), _RENAMED.get(name, name))


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])


__all__ = ["__version__", *_API]

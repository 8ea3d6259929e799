"""saswot: training-free architecture search for real-time semantic segmentation.

The package is organised in small modules with one job each (see ``docs/`` and the
README): architecture encodings and builders (``saswot.spaces.tnb101``, ``saswot.spaces.fasterseg``),
benchmark lookup, the one-pass statistics collector, the zero-cost proxy registry
(``saswot.proxies``), proxy discovery (``saswot.autoproxy``), the generic evolutionary
search engine (``saswot.search``), training/evaluation (``saswot.train``) and the CLI.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("saswot")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.1.0"

__all__ = ["__version__"]

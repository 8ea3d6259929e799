"""The zero-cost measures, one module per measure; each module registers itself into
:data:`saswot.proxies.REGISTRY` when imported.

:data:`MEASURES` is the one list a new measure is added to (``docs/extending.md``), in
registration order: a measure that reads others (``saswot`` reads ``saswot_minus`` and ``nwot``;
the shipped discovered proxies read ``nwot``) comes after them. The tests are parametrised over
the registry, so a measure listed here is tested the moment it is added.
"""

import importlib

#: Measure modules, imported in this order.
MEASURES: tuple[str, ...] = (
    "aznas",
    "epe_nas",
    "fisher",
    "flops",
    "grad_norm",
    "grasp",
    "jacov",
    "l2_norm",
    "meco",
    "nwot",
    "params",
    "plain",
    "saswot_minus",
    "saswot",
    "snip",
    "swap",
    "synflow",
    "zen",
    "zico",
    "auto_proxies",
)

for _name in MEASURES:
    importlib.import_module(f"{__name__}.{_name}")

__all__ = ["MEASURES"]

"""Proxies discovered by ``saswot search-proxy`` and shipped with saswot.

``saswot/data/auto-<space>.json`` (space = micro, macro) is registered as ``auto-<space>``
(the discovered expression alone) and ``auto-<space>+nwot`` (AVT-normalised expression plus
AVT-normalised NWOT, paper Eq. 3, with the min/max stored in the file). A missing file simply
registers nothing.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources

from saswot.autoproxy.loader import proxy_spec_from_dict
from saswot.proxies.registry import REGISTRY, ProxyRegistry

#: Spaces with a shipped discovered proxy.
SHIPPED_SPACES = ("micro", "macro")


def register_shipped(registry: ProxyRegistry) -> list[str]:
    """Register the shipped discovered proxies into ``registry``; returns the names added."""
    added = []
    for space in SHIPPED_SPACES:
        res = resources.files("saswot").joinpath("data", f"auto-{space}.json")
        if not res.is_file():
            continue
        data = json.loads(res.read_text())
        name = f"auto-{space}"
        registry.add(proxy_spec_from_dict(data, name, f"{name}@{data['expression']}", combine=None))
        ranges = (data.get("avt") or {}).get("ranges") or {}
        if "expression" in ranges and "nwot" in ranges:
            # the cache identity covers the AVT ranges: recalibrated ranges never reuse stale scores
            digest = hashlib.sha256(json.dumps(ranges, sort_keys=True).encode()).hexdigest()[:12]
            registry.add(
                proxy_spec_from_dict(
                    data, f"{name}+nwot", f"{name}+nwot@{data['expression']}@avt-{digest}", combine="nwot"
                )
            )
        added.append(name)
    return added


register_shipped(REGISTRY)

"""Proxies discovered by ``saswot search-proxy`` and shipped with saswot.

Every ``saswot/data/auto-<space>.json`` is registered as ``auto-<space>``
(the discovered expression alone) and ``auto-<space>+nwot`` (AVT-normalised expression plus
AVT-normalised NWOT, paper Eq. 3, with the min/max stored in the file). A missing file simply
registers nothing.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources

from saswot.proxies._proxyfile import proxy_spec_from_dict
from saswot.proxies._spec import REGISTRY, ProxyRegistry


def shipped_spaces() -> list[str]:
    """Spaces with a shipped discovered proxy (``saswot/data/auto-<space>.json``), sorted."""
    folder = resources.files("saswot").joinpath("data")
    if not folder.is_dir():
        return []
    return sorted(
        p.name[len("auto-") : -len(".json")]
        for p in folder.iterdir()
        if p.name.startswith("auto-") and p.name.endswith(".json")
    )


def register_shipped(registry: ProxyRegistry) -> list[str]:
    """Register the shipped discovered proxies into ``registry``; returns the names added."""
    added = []
    for space in shipped_spaces():
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

"""saswot: AVT-normalised SasWOT- plus AVT-normalised NWOT (paper Eq. 3-4).

Min/max come from ``ctx.avt`` (an :class:`saswot.proxies._avt.AVTStats` calibrated on a seeded,
pre-sampled set of architectures of the same space, see :mod:`saswot.proxies._avt`), so one new
network is scored without re-normalising a whole population.
"""

from __future__ import annotations

from saswot.errors import ScoreError

# the two terms register themselves on import; this proxy inherits what they require
from saswot.proxies._avt import avt_normalise
from saswot.proxies._spec import ProxyContext, register_proxy

#: The two terms of SasWOT, AVT-normalised with ``ctx.avt``.
COMPONENTS = ("saswot_minus", "nwot")


@register_proxy(
    "saswot",
    requires=(),  # reads nothing itself: the requirements of its AVT terms are inherited
    avt_terms=COMPONENTS,
    description="avt(saswot_minus) + avt(nwot), AVT min/max pre-computed",
    # @2: saswot_minus took the reading of the SasWOT- readings study (see saswot_minus.py)
    cache_id="saswot@2",
)
def saswot(ctx: ProxyContext) -> float:
    """avt(saswot_minus) + avt(nwot)."""
    if ctx.avt is None:
        raise ScoreError(
            "proxy 'saswot' needs AVT min/max statistics: pass avt=AVTStats.load(space) "
            "(micro/macro ship with saswot) or calibrate them with saswot.proxies._avt.calibrate_avt."
        )
    return sum(avt_normalise(ctx.value(name), name, ctx.avt) for name in COMPONENTS)

"""The settings every proxy of one scoring call shares, as one frozen value.

:class:`ScoringSettings` is what :func:`saswot.proxies.score_network` and the
:class:`saswot.proxies.ProxyContext` take: the proxy batch (:class:`saswot.config.ProxyBatch`,
where the classes, ignored label, activation bound, seed and device are declared) and the AVT
statistics of AVT-normalised proxies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from saswot.config import ProxyBatch


@dataclass(frozen=True)
class ScoringSettings:
    """Everything besides the network, the batch tensors and the proxies that changes a score.

    Attributes:
        batch: the proxy batch's settings; the proxies read ``num_classes``, ``ignore_index``,
            ``device``, ``act_max_elems`` and ``seed`` (the seed of their own random draws:
            zen, AZ-NAS trainability).
        avt: AVT min/max statistics (:class:`saswot.proxies._avt.AVTStats`) for AVT-normalised
            proxies, or None.
    """

    batch: ProxyBatch
    avt: Any = None

    @property
    def num_classes(self) -> int:
        """``batch.num_classes``."""
        return self.batch.num_classes

    @property
    def ignore_index(self) -> int:
        """``batch.ignore_index``."""
        return self.batch.ignore_index

    @property
    def device(self) -> str:
        """``batch.device``."""
        return self.batch.device

    @property
    def act_max_elems(self) -> int:
        """``batch.act_max_elems``."""
        return self.batch.act_max_elems

    @property
    def seed(self) -> int:
        """``batch.seed``."""
        return self.batch.seed

    def replace(self, **changes: Any) -> ScoringSettings:
        """A copy with ``changes`` applied (e.g. ``settings.replace(avt=stats)``)."""
        return replace(self, **changes)

"""The settings every proxy of one scoring call shares, as one frozen value.

:class:`ScoringSettings` is what :func:`saswot.proxies.score_network` and the
:class:`saswot.proxies.ProxyContext` take instead of a list of keyword arguments. Calls written
with those keywords (``score_network(..., num_classes=17, avt=avt)``) still work:
:func:`settings_from` turns them into the settings object, in this one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class ScoringSettings:
    """Everything besides the network, the batch and the proxies that changes a score.

    Attributes:
        num_classes: output classes of the network (epe_nas labels, zen's classifier lookup).
        ignore_index: label value left out of the loss.
        device: where the passes run (``"cpu"``, ``"cuda"``, ...).
        act_max_elems: bound on the stored layer-output values per sample and layer
            (:func:`saswot.proxies._stats.collect_stats`).
        seed: seed of the proxies' own random draws (zen, AZ-NAS trainability).
        avt: AVT min/max statistics (:class:`saswot.proxies._avt.AVTStats`) for AVT-normalised
            proxies, or None.
    """

    num_classes: int
    ignore_index: int = 255
    device: str = "cpu"
    act_max_elems: int = 4096
    seed: int = 0
    avt: Any = None

    def replace(self, **changes: Any) -> ScoringSettings:
        """A copy with ``changes`` applied (e.g. ``settings.replace(avt=stats)``)."""
        return replace(self, **changes)


#: Keyword arguments that older calls pass instead of a :class:`ScoringSettings`.
SETTINGS_KEYWORDS: tuple[str, ...] = tuple(f.name for f in fields(ScoringSettings))


def settings_from(settings: ScoringSettings | None, keywords: Mapping[str, Any], where: str) -> ScoringSettings:
    """The settings of a call: ``settings``, or one built from the call's keyword arguments.

    Args:
        settings: the settings object the caller passed (or None).
        keywords: the other keyword arguments of the call (a subset of :data:`SETTINGS_KEYWORDS`).
        where: name of the called function, for error messages.

    Raises:
        TypeError: an unknown keyword, both ``settings`` and keywords, or neither ``settings``
            nor ``num_classes``.
    """
    unknown = sorted(set(keywords) - set(SETTINGS_KEYWORDS))
    if unknown:
        raise TypeError(f"{where}() got unexpected keyword argument(s) {', '.join(unknown)}")
    if settings is not None:
        if keywords:
            raise TypeError(
                f"{where}(): give either a ScoringSettings or the keywords {', '.join(sorted(keywords))}, not both"
            )
        if not isinstance(settings, ScoringSettings):
            raise TypeError(f"{where}(): settings must be a ScoringSettings, got {type(settings).__name__}")
        return settings
    if "num_classes" not in keywords:
        raise TypeError(f"{where}() needs settings=ScoringSettings(num_classes=...)")
    return ScoringSettings(**keywords)

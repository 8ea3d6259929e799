"""The fixed, short training recipes of the FasterSeg benchmark (:class:`Recipe`) and their identity."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from saswot.errors import CorruptDataError, SaswotError
from saswot.train.loop import TrainConfig
from saswot.utils.io import read_json

#: The budget of ``saswot search-arch`` used throughout (the released FasterSeg student's cost).
DEFAULT_MAX_GMACS = 27.8
DEFAULT_TARGET = (1024, 2048)
#: Classes used for the budget's GMACs (the ``search-arch`` default).
BUDGET_CLASSES = 19


# ----------------------------------------------------------------------------- recipe
@dataclass(frozen=True)
class Recipe:
    """A fixed training recipe for one FasterSeg-space network (everything but arch and seed).

    Attributes:
        name: short label.
        dataset: ``camvid`` or ``cityscapes``.
        epochs: training epochs.
        base_size: training images are resized to this (H, W) first (``None``: native).
        crop: random crop (H, W) after random scaling.
        scales: random scale factors.
        eval_size: evaluation inputs resized to this (H, W); the metric is at label resolution.
        batch_size: batch size.
        lr: initial learning rate (SGD, momentum 0.9, weight decay 5e-4).
        lr_final_ratio: exponential decay to ``lr × ratio`` after the last epoch.
        eval_every: evaluate every this many epochs (and after the last one).
        amp: mixed precision on CUDA.
        max_batches: cap on batches per epoch (``None``: full epoch; for tests only).
        teacher: distillation teacher checkpoint (``None``: none; left out of the identity hash).
    """

    name: str = "cpu-half-8ep"
    dataset: str = "camvid"
    epochs: int = 8
    base_size: tuple[int, int] | None = (180, 240)
    crop: tuple[int, int] = (144, 192)
    scales: tuple[float, ...] = (0.75, 1.0, 1.25)
    eval_size: tuple[int, int] | None = (180, 240)
    batch_size: int = 8
    lr: float = 0.03
    lr_final_ratio: float = 0.1
    eval_every: int = 2
    amp: bool = True
    max_batches: int | None = None
    teacher: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form (tuples as lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Recipe:
        """Inverse of :meth:`to_json`; an optional ``recipe_id`` must match (unknown keys raise CorruptDataError)."""
        kw = dict(d)
        stated = kw.pop("recipe_id", None)
        known = set(cls.__dataclass_fields__)
        extra = set(kw) - known
        if extra:
            raise CorruptDataError(f"recipe has unknown fields {sorted(extra)}; known: {sorted(known)}")
        for k in ("base_size", "crop", "eval_size"):
            if kw.get(k) is not None:
                kw[k] = tuple(int(v) for v in kw[k])
        if "scales" in kw:
            kw["scales"] = tuple(float(v) for v in kw["scales"])
        recipe = cls(**kw)
        if stated is not None and stated != recipe.recipe_id:
            raise CorruptDataError(f"recipe file states recipe_id {stated} but its fields hash to {recipe.recipe_id}")
        return recipe

    @property
    def recipe_id(self) -> str:
        """Short hash of every field but ``name`` (the identity entries are matched on)."""
        d = self.to_json()
        d.pop("name")
        if d.get("teacher") is None:
            d.pop("teacher", None)  # recipes without a teacher keep the identity they had before the field
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    def train_config(
        self,
        model: str,
        out: str | Path,
        seed: int,
        *,
        data_root: str | None = None,
        device: str = "cpu",
        workers: int = 0,
        threads: int | None = 1,
    ) -> Any:
        """The :class:`~saswot.train.loop.TrainConfig` of one run of this recipe."""

        return TrainConfig(
            model=model,
            dataset=self.dataset,
            out=str(out),
            data_root=data_root,
            epochs=self.epochs,
            crop=self.crop,
            base_size=self.base_size,
            eval_size=self.eval_size,
            scales=self.scales,
            batch_size=self.batch_size,
            lr=self.lr,
            lr_final_ratio=self.lr_final_ratio,
            device=device,
            workers=workers,
            seed=seed,
            eval_every=self.eval_every,
            amp=self.amp,
            max_batches=self.max_batches,
            threads=threads,
            teacher=self.teacher,
        )


#: Named recipes (``--recipe NAME``; a recipe JSON file is accepted as well).
RECIPES: dict[str, Recipe] = {
    "cpu-half-8ep": Recipe(),
    # the longer, larger-crop variant tried when the seeds of cpu-half-8ep spread as much as the archs
    "cpu-half-12ep-full": Recipe(
        name="cpu-half-12ep-full", epochs=12, crop=(180, 240), lr_final_ratio=0.01, eval_every=3
    ),
    # the fidelity check of cpu-half-8ep: twice the epochs on whole 180x240 images (1.56x the
    # pixels of a 144x192 crop), about 3.1x the training compute, same schedule shape
    "cpu-half-16ep-full": Recipe(name="cpu-half-16ep-full", epochs=16, crop=(180, 240), eval_every=4),
    "tiny-test": Recipe(
        name="tiny-test",
        epochs=1,
        base_size=None,
        crop=(64, 64),
        scales=(1.0,),
        eval_size=None,
        batch_size=2,
        lr=0.01,
        eval_every=1,
    ),
}


def resolve_recipe(name_or_path: str) -> Recipe:
    """A named recipe or a recipe JSON file."""
    if name_or_path in RECIPES:
        return RECIPES[name_or_path]
    p = Path(name_or_path)
    if not p.is_file():
        raise SaswotError(f"unknown recipe '{name_or_path}': use one of {', '.join(RECIPES)} or a recipe JSON file")

    return Recipe.from_json(read_json(p, "recipe file"))

"""Self-describing checkpoints: weights + everything needed to rebuild and evaluate the model.

A checkpoint is a dict saved with ``torch.save`` (atomically). Keys:
``format``, ``model`` (:class:`~saswot.train.models.ModelSpec` JSON), ``dataset``,
``class_names``, ``normalization`` (``mean``/``std``), ``eval_size`` (input size used at
evaluation, ``None`` = native), ``state_dict`` and, for training checkpoints, ``epoch``,
``optimizer``, ``scheduler``, ``scaler``, ``best_miou``, ``history``, ``config``.
It loads with ``torch.load(weights_only=True)`` (no pickled code).
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from saswot.errors import CorruptDataError
from saswot.train.models import ModelSpec, build_model
from saswot.utils.io import atomic_path, check_checkpoint_file

FORMAT = "saswot-seg/1"


def save_checkpoint(path: str | os.PathLike[str], ckpt: dict[str, Any]) -> Path:
    """Atomically write ``ckpt`` (a dict with at least ``model`` and ``state_dict``)."""
    data = {"format": FORMAT, **ckpt}
    with atomic_path(path) as tmp:
        torch.save(data, tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint on the CPU, with clear errors for missing or foreign files."""
    p = check_checkpoint_file(path)
    if not zipfile.is_zipfile(p):  # torch.save writes a zip archive; anything else is a foreign file
        raise CorruptDataError(
            f"'{p}' is not a saswot segmentation checkpoint (not a torch archive). "
            "Use a checkpoint written by 'saswot train' (RUN_DIR/best.pt or RUN_DIR/last.pt)."
        )
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except (
        RuntimeError,
        pickle.UnpicklingError,
        zipfile.BadZipFile,
        EOFError,
        ValueError,
        KeyError,
        IndexError,
    ) as exc:
        raise CorruptDataError(f"checkpoint '{p}' cannot be read ({exc}). Re-create it with 'saswot train'.") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT or "state_dict" not in ckpt:
        raise CorruptDataError(
            f"'{p}' is not a saswot segmentation checkpoint (format {FORMAT}). "
            "Use a checkpoint written by 'saswot train'."
        )
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any]) -> nn.Module:
    """Rebuild the network of ``ckpt`` and load its weights (fp16 weights are cast to fp32)."""
    spec = ModelSpec.from_json(ckpt["model"])
    model = build_model(spec, aux_heads=False, seed=0)
    state = {k: (v.float() if torch.is_floating_point(v) else v) for k, v in ckpt["state_dict"].items()}
    # auxiliary heads exist only in training-time networks; they are not needed for inference
    own = model.state_dict()
    state = {k: v for k, v in state.items() if k in own}
    missing = [k for k in own if k not in state]
    if missing:
        raise CorruptDataError(
            f"checkpoint weights do not match model '{spec.name}' (missing {missing[:3]}...). "
            "The checkpoint was written by another version of the model."
        )
    model.load_state_dict(state)
    return model.eval()


def inference_checkpoint(ckpt: dict[str, Any], fp16: bool = False, drop_aux: bool = True) -> dict[str, Any]:
    """A slim copy of ``ckpt`` for distribution: no optimizer state; optional fp16 weights.

    Args:
        ckpt: a training checkpoint.
        fp16: store floating-point weights as float16 (halves the size).
        drop_aux: leave out the weights of auxiliary heads (training only).
    """
    spec = ModelSpec.from_json(ckpt["model"])
    keep = set(build_model(spec, aux_heads=False, seed=0).state_dict()) if drop_aux else None
    state = {}
    for k, v in ckpt["state_dict"].items():
        if keep is not None and k not in keep:
            continue
        state[k] = v.half() if fp16 and torch.is_floating_point(v) else v
    skip = {"optimizer", "scheduler", "scaler", "state_dict", "format"}
    slim = {k: v for k, v in ckpt.items() if k not in skip}
    slim["state_dict"] = state
    slim["weights_dtype"] = "float16" if fp16 else "float32"
    return slim

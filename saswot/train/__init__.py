"""Retraining, evaluation, speed measurement and export of segmentation networks.

* :func:`fit` / :func:`train_one_epoch` (``loop``): SGD + exponential LR, OHEM CE, aux heads,
  optional distillation term, checkpoints every epoch, resume.
* :func:`evaluate` (``evaluate``): confusion matrix over a whole split at label resolution.
* :func:`measure_fps` (``fps``), :func:`export_onnx` (``export``).
* :class:`ModelSpec`, :func:`resolve_model`, :func:`build_model` (``models``): names → networks.
"""

from saswot.train.checkpoint import inference_checkpoint, load_checkpoint, model_from_checkpoint, save_checkpoint
from saswot.train.evaluate import evaluate
from saswot.train.export import ExportError, export_onnx
from saswot.train.fps import FpsResult, measure_fps
from saswot.train.loop import TrainConfig, fit, train_one_epoch
from saswot.train.losses import LossConfig, OhemCrossEntropy, SegmentationLoss, distillation_loss
from saswot.train.metrics import ConfusionMatrix
from saswot.train.models import MODELS, ModelSpec, build_model, resolve_model

__all__ = [
    "MODELS",
    "ConfusionMatrix",
    "ExportError",
    "FpsResult",
    "LossConfig",
    "ModelSpec",
    "OhemCrossEntropy",
    "SegmentationLoss",
    "TrainConfig",
    "build_model",
    "distillation_loss",
    "evaluate",
    "export_onnx",
    "fit",
    "inference_checkpoint",
    "load_checkpoint",
    "measure_fps",
    "model_from_checkpoint",
    "resolve_model",
    "save_checkpoint",
    "train_one_epoch",
]

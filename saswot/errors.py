"""Error types of saswot.

Every error a user can cause (bad input, missing data, unknown names) is a
:class:`SaswotError`. The CLI prints its message (which names the problem and the fix)
and exits with :attr:`SaswotError.exit_code` (2), never with a traceback.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

#: A parameter named in a :class:`ParameterError` template: ``{batch.batch_size}``.
_PARAM = re.compile(r"\{([A-Za-z_][\w.]*)\}")

#: Exit code of a command that wrote its results but some of them are missing: a proxy failed on
#: some network (marked n/a with its reason in the table and the JSON), or a worker died twice.
PARTIAL_EXIT = 3

#: Start of the reason of a proxy that raised an error on a network (its score is not available,
#: "n/a"; the sentinel stands in its place in the scores), as opposed to a non-finite value.
NA_PREFIX = "n/a: "
#: Score given to a proxy whose value is NaN or +-inf (NAS-Bench-Suite-Zero used -1e8 too); kept
#: here, free of torch, so that readers of scores (predictors, tables) need not load the proxies.
SENTINEL: float = -1e8


def render_params(template: str, name: Callable[[str], str]) -> str:
    """``template`` (an error message or a note naming parameters in braces: ``{batch.batch_size}``)
    with every parameter written as ``name(parameter)``; the command line writes its options."""
    return _PARAM.sub(lambda m: name(m.group(1)), template)


class SaswotError(Exception):
    """Base class for user-facing errors; the message must say what is wrong and how to fix it.

    A message names the parameters it is about in braces (``"{device} cuda was asked for ..."``):
    ``str()`` shows the parameter names, the command line shows its options instead (:meth:`render`).
    """

    exit_code: int = 2

    @property
    def template(self) -> str:
        """The message with its parameters in braces."""
        return str(self.args[0]) if self.args else ""

    @property
    def params(self) -> list[str]:
        """The parameters the message names, in order."""
        return _PARAM.findall(self.template)

    def render(self, name: Callable[[str], str]) -> str:
        """The message with every parameter written as ``name(parameter)``."""
        return render_params(self.template, name)

    def __str__(self) -> str:
        return self.render(lambda param: param)


class DataNotFoundError(SaswotError, FileNotFoundError):
    """A dataset or benchmark file is missing."""


class CorruptDataError(SaswotError, ValueError):
    """A file exists but cannot be parsed or has the wrong content."""


class InvalidArchError(SaswotError, ValueError):
    """An architecture string, key, genome or arch file is malformed or illegal."""


class UnknownNameError(SaswotError, KeyError):
    """An unknown proxy, op, dataset or model name was given."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return self.render(lambda param: param)


class ScoreError(SaswotError, ArithmeticError):
    """A score could not be computed (e.g. NaN/inf where a finite value is required)."""


class ResourceError(SaswotError, RuntimeError):
    """The machine ran out of a resource (memory); the message says what to reduce."""


class OutputError(SaswotError, OSError):
    """An output file or folder cannot be written (checked before the work, or failed at the end)."""


class TrainingDivergedError(ScoreError):
    """Training diverged (non-finite loss, exploding weights); the last good checkpoint is kept."""


class ParameterError(SaswotError, ValueError):
    """A parameter of a run has a value that cannot work (the message names it: ``{batch.batch_size}``)."""


def unknown_model_error(model: str, choices: list[str]) -> UnknownNameError:
    """The error for a training model that is none of ``choices`` (with the close ones, if any)."""
    close = difflib.get_close_matches(model, choices, n=3, cutoff=0.6)
    if close:
        return UnknownNameError(
            f"unknown model '{model}'; did you mean {' or '.join(repr(c) for c in close)}? "
            "(`saswot train --help` lists every model; an arch JSON file is accepted too)"
        )
    return UnknownNameError(f"unknown model '{model}'; choose {', '.join(choices)} or an arch JSON file.")

"""Error types of saswot.

Every error a user can cause (bad input, missing data, unknown names) is a
:class:`SaswotError`. The CLI prints its message (which names the problem and the fix)
and exits with :attr:`SaswotError.exit_code` (2), never with a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: A parameter named in a :class:`ParameterError` template: ``{batch.batch_size}``.
_PARAM = re.compile(r"\{([A-Za-z_][\w.]*)\}")


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
        return _PARAM.sub(lambda m: name(m.group(1)), self.template)

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

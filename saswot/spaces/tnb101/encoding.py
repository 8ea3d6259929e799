"""TransNAS-Bench-101 architecture encodings (micro cell space and macro skeleton space).

Two interchangeable textual forms exist for each architecture:

* the NAS-Bench-Suite-Zero / NASLib **key**, the string of a 6-tuple, e.g.
  ``"(1, 0, 0, 2, 1, 0)"``. Micro: the six cell-edge op codes in the order
  (0→1, 0→2, 1→2, 0→3, 1→3, 2→3). Macro: the module codes, right-padded with 0 to length 6.
* the official TransNAS-Bench-101 **string** ``"<base>-<macro>-<cell>"``:
  micro ``64-41414-a_bc_def`` (group ``j`` lists the ops on the edges into node ``j``),
  macro ``64-<digits>-basic``.

Micro op codes are the TNB codes (0 none, 1 skip, 2 ReLU-Conv1x1-BN, 3 ReLU-Conv3x3-BN); NASLib's
``OP_NAMES``/``EDGE_LIST`` (a different op order and edge order, used only for its graph
representation) do NOT apply to the keys. Macro module codes: 1 normal, 2 channels×2,
3 stride 2, 4 channels×2 and stride 2.

Both classes are frozen (hashable) dataclasses; :attr:`key` is the canonical string and
``parse_arch(a.key, a.space) == a`` and ``parse_arch(a.arch_str) == a`` always hold.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import ClassVar, Union

from saswot.errors import InvalidArchError

#: Stem output channels; the only base used by the benchmark.
BASE_CHANNELS = 64
#: Fixed macro skeleton of the micro (cell-level) space.
MICRO_SKELETON = "41414"
#: Names of the micro op codes 0..3.
MICRO_OP_NAMES: tuple[str, ...] = ("none", "skip_connect", "conv1x1", "conv3x3")
#: Edges (from_node, to_node) in micro-key order.
MICRO_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: Names of the macro module codes 1..4.
MACRO_MODULE_NAMES: dict[int, str] = {
    1: "normal",
    2: "channels x2",
    3: "stride 2",
    4: "channels x2 + stride 2",
}
KEY_LENGTH = 6
MACRO_MIN_LEN, MACRO_MAX_LEN = 4, 6
MACRO_MIN_DOWN, MACRO_MAX_DOWN = 1, 4  # modules with stride 2 (codes 3/4)
MACRO_MIN_UP, MACRO_MAX_UP = 1, 3  # modules doubling channels (codes 2/4)

SPACES: tuple[str, ...] = ("micro", "macro")


def _key_of(digits: tuple[int, ...]) -> str:
    padded = tuple(digits) + (0,) * (KEY_LENGTH - len(digits))
    return "(" + ", ".join(str(d) for d in padded) + ")"


@dataclass(frozen=True)
class MicroArch:
    """A micro-space (cell-level) architecture: six edge ops of the repeated cell.

    Attributes:
        ops: op codes (0 none, 1 skip, 2 conv1x1, 3 conv3x3) of edges 0→1, 0→2, 1→2, 0→3, 1→3, 2→3.
    """

    ops: tuple[int, ...]
    space: ClassVar[str] = "micro"

    def __post_init__(self) -> None:
        ops = tuple(self.ops)
        if len(ops) != KEY_LENGTH:
            raise InvalidArchError(
                f"micro architecture needs exactly {KEY_LENGTH} op codes (edges 0→1, 0→2, 1→2, 0→3, "
                f"1→3, 2→3), got {len(ops)}: {ops}."
            )
        for i, op in enumerate(ops):
            if isinstance(op, bool) or not isinstance(op, int) or not 0 <= op <= 3:
                raise InvalidArchError(
                    f"micro op code {op!r} at position {i} is out of range: codes are 0 (none), "
                    f"1 (skip), 2 (conv1x1), 3 (conv3x3)."
                )
        object.__setattr__(self, "ops", ops)

    @property
    def key(self) -> str:
        """The NAS-Bench-Suite-Zero key, e.g. ``"(1, 0, 0, 2, 1, 0)"`` (canonical form)."""
        return _key_of(self.ops)

    @property
    def cell_str(self) -> str:
        """The cell code ``a_bc_def``."""
        o = self.ops
        return f"{o[0]}_{o[1]}{o[2]}_{o[3]}{o[4]}{o[5]}"

    @property
    def arch_str(self) -> str:
        """The official string, e.g. ``"64-41414-1_00_210"``."""
        return f"{BASE_CHANNELS}-{MICRO_SKELETON}-{self.cell_str}"

    @property
    def macro_code(self) -> tuple[int, ...]:
        """Module codes of the fixed skeleton (``41414``)."""
        return tuple(int(c) for c in MICRO_SKELETON)

    def edge_ops(self) -> dict[tuple[int, int], str]:
        """Map each edge (from, to) to its op name."""
        return {e: MICRO_OP_NAMES[op] for e, op in zip(MICRO_EDGES, self.ops)}

    def __str__(self) -> str:
        return self.arch_str


@dataclass(frozen=True)
class MacroArch:
    """A macro-space (module-level) architecture: a sequence of 4–6 module codes over {1,2,3,4}.

    Trailing 0s (the key's padding) are stripped on construction, so
    ``MacroArch((1, 2, 4, 2, 0, 0)) == MacroArch((1, 2, 4, 2))``.

    Attributes:
        modules: module codes (1 normal, 2 channels×2, 3 stride 2, 4 channels×2 + stride 2).
    """

    modules: tuple[int, ...]
    space: ClassVar[str] = "macro"

    def __post_init__(self) -> None:
        mods = tuple(self.modules)
        for i, m in enumerate(mods):
            if isinstance(m, bool) or not isinstance(m, int) or not 0 <= m <= 4:
                raise InvalidArchError(
                    f"macro module code {m!r} at position {i} is out of range: codes are 1 (normal), "
                    f"2 (channels x2), 3 (stride 2), 4 (channels x2 + stride 2); 0 only as trailing padding."
                )
        if len(mods) > KEY_LENGTH:
            raise InvalidArchError(
                f"macro architecture has {len(mods)} modules; the benchmark allows "
                f"{MACRO_MIN_LEN}–{MACRO_MAX_LEN}: {mods}."
            )
        stripped = mods
        while stripped and stripped[-1] == 0:
            stripped = stripped[:-1]
        if 0 in stripped:
            raise InvalidArchError(
                f"macro code {mods} has a 0 before a non-zero module; 0 may only pad the end of the key."
            )
        if not MACRO_MIN_LEN <= len(stripped) <= MACRO_MAX_LEN:
            raise InvalidArchError(
                f"macro architecture has {len(stripped)} modules ({stripped}); the benchmark allows "
                f"{MACRO_MIN_LEN}–{MACRO_MAX_LEN} modules."
            )
        down = sum(1 for m in stripped if m in (3, 4))
        if not MACRO_MIN_DOWN <= down <= MACRO_MAX_DOWN:
            raise InvalidArchError(
                f"macro code {''.join(map(str, stripped))} has {down} stride-2 modules (codes 3/4); "
                f"the benchmark requires {MACRO_MIN_DOWN}–{MACRO_MAX_DOWN}."
            )
        up = sum(1 for m in stripped if m in (2, 4))
        if not MACRO_MIN_UP <= up <= MACRO_MAX_UP:
            raise InvalidArchError(
                f"macro code {''.join(map(str, stripped))} has {up} channel-doubling modules (codes 2/4); "
                f"the benchmark requires {MACRO_MIN_UP}–{MACRO_MAX_UP}."
            )
        object.__setattr__(self, "modules", stripped)

    @property
    def key(self) -> str:
        """The NAS-Bench-Suite-Zero key, 0-padded to 6, e.g. ``"(1, 2, 4, 2, 0, 0)"`` (canonical)."""
        return _key_of(self.modules)

    @property
    def arch_str(self) -> str:
        """The official string, e.g. ``"64-1242-basic"``."""
        return f"{BASE_CHANNELS}-{''.join(str(m) for m in self.modules)}-basic"

    @property
    def macro_code(self) -> tuple[int, ...]:
        """The module codes (same as :attr:`modules`)."""
        return self.modules

    @property
    def num_downsample(self) -> int:
        """Number of stride-2 modules (codes 3/4)."""
        return sum(1 for m in self.modules if m in (3, 4))

    @property
    def num_channel_doubling(self) -> int:
        """Number of channel-doubling modules (codes 2/4)."""
        return sum(1 for m in self.modules if m in (2, 4))

    def __str__(self) -> str:
        return self.arch_str


#: Any TransNAS-Bench-101 architecture.
TNBArch = Union[MicroArch, MacroArch]

_KEY_RE = re.compile(r"^[\(\[]?\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*,?\s*[\)\]]?$")
_CELL_RE = re.compile(r"^(\d)_(\d)(\d)_(\d)(\d)(\d)$")


def _check_space(space: str | None) -> str | None:
    if space is None:
        return None
    s = space.strip().lower()
    if s not in SPACES:
        raise InvalidArchError(f"unknown search space {space!r}; use 'micro' or 'macro'.")
    return s


def _parse_official(text: str, space: str | None) -> TNBArch:
    parts = text.split("-")
    if len(parts) != 3:
        raise InvalidArchError(
            f"architecture string {text!r} must have three '-'-separated parts "
            f"'<base>-<macro>-<cell>', e.g. '64-41414-1_02_333' or '64-1242-basic'."
        )
    base, macro, cell = parts
    if base != str(BASE_CHANNELS):
        raise InvalidArchError(f"architecture string {text!r}: base channels must be {BASE_CHANNELS}, got {base!r}.")
    if not macro.isdigit():
        raise InvalidArchError(f"architecture string {text!r}: macro part {macro!r} must be digits 1–4.")
    if cell == "basic":
        if space == "micro":
            raise InvalidArchError(f"{text!r} is a macro-space string (cell 'basic') but space 'micro' was requested.")
        return MacroArch(tuple(int(c) for c in macro))
    m = _CELL_RE.match(cell)
    if m is None:
        raise InvalidArchError(
            f"architecture string {text!r}: cell part {cell!r} must be 'basic' (macro space) or a "
            f"micro cell code 'a_bc_def' with digits 0–3."
        )
    if space == "macro":
        raise InvalidArchError(f"{text!r} is a micro-space string but space 'macro' was requested.")
    if macro != MICRO_SKELETON:
        raise InvalidArchError(
            f"architecture string {text!r}: the micro space uses the fixed skeleton {MICRO_SKELETON}, got {macro!r}."
        )
    return MicroArch(tuple(int(g) for g in m.groups()))


def _parse_key(text: str, space: str | None) -> TNBArch:
    m = _KEY_RE.match(text)
    if m is None:
        raise InvalidArchError(
            f"cannot parse architecture {text!r}: expected a key like '(1, 0, 0, 2, 1, 0)', an official "
            f"string like '64-41414-1_00_210' / '64-1242-basic', or a micro cell code like '1_00_210'."
        )
    digits = tuple(int(d) for d in m.group(1).split(","))
    if len(digits) != KEY_LENGTH:
        raise InvalidArchError(
            f"architecture key {text!r} has {len(digits)} entries; keys have exactly {KEY_LENGTH} "
            f"(macro keys are 0-padded to {KEY_LENGTH})."
        )
    if space == "micro":
        return MicroArch(digits)
    if space == "macro":
        return MacroArch(digits)
    micro_err: InvalidArchError | None = None
    macro_err: InvalidArchError | None = None
    micro: MicroArch | None = None
    macro: MacroArch | None = None
    try:
        micro = MicroArch(digits)
    except InvalidArchError as exc:
        micro_err = exc
    try:
        macro = MacroArch(digits)
    except InvalidArchError as exc:
        macro_err = exc
    if micro is not None and macro is not None:
        raise InvalidArchError(
            f"architecture key {text!r} is valid in both the micro and the macro space; "
            f"say which one ({{space}} micro|macro, or space=...), or give the official string."
        )
    if micro is not None:
        return micro
    if macro is not None:
        return macro
    raise InvalidArchError(
        f"architecture key {text!r} is valid in neither space: as micro: {micro_err}; as macro: {macro_err}"
    )


def parse_arch(text: str | TNBArch, space: str | None = None) -> TNBArch:
    """Parse a TransNAS-Bench-101 architecture from a key or an official string.

    Accepted forms: key ``"(1, 0, 0, 2, 1, 0)"`` (brackets and spaces optional), official string
    ``"64-41414-1_00_210"`` / ``"64-1242-basic"``, or a bare micro cell code ``"1_00_210"``.
    An already-parsed architecture is returned as is (after checking its space).

    Args:
        text: the architecture.
        space: ``"micro"``, ``"macro"`` or ``None`` to infer it (a key valid in both spaces then
            raises and asks for the space).

    Returns:
        A :class:`MicroArch` or :class:`MacroArch`.

    Raises:
        InvalidArchError: malformed input, a digit out of range, or a macro code breaking the
            benchmark's rules (length 4–6, 1–4 stride-2 modules, 1–3 channel-doubling modules).
    """
    sp = _check_space(space)
    if isinstance(text, (MicroArch, MacroArch)):
        if sp is not None and text.space != sp:
            raise InvalidArchError(f"architecture {text.arch_str} is in the {text.space} space, not {sp}.")
        return text
    if not isinstance(text, str):
        raise InvalidArchError(f"architecture must be a string, got {type(text).__name__}: {text!r}.")
    s = text.strip()
    if not s:
        raise InvalidArchError("empty architecture string; give a key like '(1, 0, 0, 2, 1, 0)'.")
    if "," in s or s[0] in "([":
        return _parse_key(s, sp)
    if "-" in s:
        return _parse_official(s, sp)
    if "_" in s:
        m = _CELL_RE.match(s)
        if m is None:
            raise InvalidArchError(f"micro cell code {s!r} must look like 'a_bc_def' with digits 0–3, e.g. '1_02_333'.")
        if sp == "macro":
            raise InvalidArchError(f"{s!r} is a micro cell code but space 'macro' was requested.")
        return MicroArch(tuple(int(g) for g in m.groups()))
    return _parse_key(s, sp)


def arch_from_digits(digits: tuple[int, ...] | list[int], space: str) -> TNBArch:
    """Build an architecture of ``space`` from its digits (micro ops or macro modules)."""
    sp = _check_space(space)
    return MicroArch(tuple(digits)) if sp == "micro" else MacroArch(tuple(digits))


def all_micro_archs() -> list[MicroArch]:
    """Every micro-space architecture (4096), in lexicographic order of the op codes."""
    return [MicroArch(ops) for ops in itertools.product(range(4), repeat=KEY_LENGTH)]


def all_macro_archs() -> list[MacroArch]:
    """Every legal macro-space architecture (3256), by length then lexicographic order."""
    out: list[MacroArch] = []
    for n in range(MACRO_MIN_LEN, MACRO_MAX_LEN + 1):
        for code in itertools.product(range(1, 5), repeat=n):
            down = sum(1 for m in code if m in (3, 4))
            up = sum(1 for m in code if m in (2, 4))
            if MACRO_MIN_DOWN <= down <= MACRO_MAX_DOWN and MACRO_MIN_UP <= up <= MACRO_MAX_UP:
                out.append(MacroArch(code))
    return out

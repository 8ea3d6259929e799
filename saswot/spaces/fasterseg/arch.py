"""Decoded FasterSeg architectures: dataclasses, legality, canonical string, JSON arch files.

A decoded network is a stem, one or two *branches* and the head. Each branch
is a single path of cells through the scale grid:

* ``ops[i]``   – operator of cell ``i`` (never ``skip``: skip only means "layer removed");
* ``path[i]``  – scale index (0: 1/8, 1: 1/16, 2: 1/32) of the *input* of cell ``i``; cell ``i``
  is a stride-2 "down" cell when ``path[i + 1] == path[i] + 1``; the last cell is stride 1;
* ``widths[i]`` – width χ ∈ {4, 6, 8, 10, 12} of the *output* of cell ``i`` for every cell but
  the last (``len(widths) == len(ops) - 1``); the last cell outputs the head width.

The branch ends at scale ``last == path[-1]``. Two branches share their longest common prefix
of identical cells (§2.3); a shared cell is built, run and costed once.

Arch file (JSON)::

    {"format": "saswot-fasterseg-arch", "version": 1, "name": "...",
     "stem_width": 8, "head_width": 8,
     "branches": [{"last": 2, "ops": [...], "path": [...], "widths": [...]}, ...],
     "search": {...}}            # optional, written by `saswot search-arch`
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saswot.errors import CorruptDataError, DataNotFoundError, InvalidArchError, UnknownNameError
from saswot.spaces.fasterseg.grid import CELL_OPS, OP_CODES, SCALES, WIDTH_CHOICES, num_filters
from saswot.utils.io import write_json

ARCH_FORMAT = "saswot-fasterseg-arch"
ARCH_VERSION = 1

#: Built-in architectures (name → JSON file in ``saswot/data/fasterseg``).
BUILTIN_ARCHS: dict[str, str] = {"fasterseg": "fasterseg.json"}
_DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "fasterseg"


@dataclass(frozen=True)
class Cell:
    """One cell of a branch with its resolved channel plan."""

    op: str
    scale_in: int
    scale_out: int
    c_in: int
    c_out: int

    @property
    def stride(self) -> int:
        """2 for a down cell, else 1."""
        return 2 if self.scale_out > self.scale_in else 1


@dataclass(frozen=True)
class Branch:
    """One path through the grid (see the module docstring)."""

    last: int
    ops: tuple[str, ...]
    path: tuple[int, ...]
    widths: tuple[int, ...]

    def cells(self, stem_width: int, head_width: int) -> list[Cell]:
        """The cells with their scales and channel counts."""
        out: list[Cell] = []
        c_in = num_filters(SCALES[0], stem_width)
        n = len(self.ops)
        for i, op in enumerate(self.ops):
            s_in = self.path[i]
            if i < n - 1:
                s_out = self.path[i + 1]
                c_out = num_filters(SCALES[s_out], self.widths[i])
            else:
                s_out = s_in
                c_out = num_filters(SCALES[s_out], head_width)
            out.append(Cell(op, s_in, s_out, c_in, c_out))
            c_in = c_out
        return out

    def skip_channels(self, stem_width: int, head_width: int) -> dict[int, int]:
        """Channels of the branch's last feature at each scale below ``last`` (head skip inputs)."""
        res: dict[int, int] = {}
        for cell in self.cells(stem_width, head_width):
            if cell.stride == 2:
                res[cell.scale_in] = cell.c_in
        return res


@dataclass(frozen=True)
class FasterSegArch:
    """A decoded FasterSeg network: stem width, head width and 1–2 branches."""

    branches: tuple[Branch, ...]
    stem_width: int = 8
    head_width: int = 8
    name: str = ""
    search: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    def __post_init__(self) -> None:
        check_structure(self)

    # ------------------------------------------------------------------ structure
    def branch_cells(self) -> list[list[Cell]]:
        """Cells of every branch (shared cells appear in each)."""
        return [b.cells(self.stem_width, self.head_width) for b in self.branches]

    def shared_prefix(self) -> int:
        """Number of leading cells shared by all branches (§2.3); 0 for a single branch."""
        cells = self.branch_cells()
        if len(cells) < 2:
            return 0
        n = 0
        for group in zip(*cells):
            if any(c != group[0] for c in group[1:]):
                break
            n += 1
        return n

    def unique_cells(self) -> list[Cell]:
        """Every cell that is instantiated (shared prefix once)."""
        cells = self.branch_cells()
        shared = self.shared_prefix()
        out = list(cells[0][:shared])
        for bc in cells:
            out.extend(bc[shared:])
        return out

    def key(self) -> str:
        """Canonical string: equal networks have equal keys (used for de-duplication)."""
        parts = [f"s{self.stem_width}h{self.head_width}"]
        for b in self.branches:
            toks = []
            n = len(b.ops)
            for i, op in enumerate(b.ops):
                s_in = SCALES[b.path[i]]
                down = "v" if i < n - 1 and b.path[i + 1] > b.path[i] else ""
                w = str(b.widths[i]) if i < n - 1 else "h"
                toks.append(f"{OP_CODES[op]}/{s_in}{down}/{w}")
            parts.append(f"L{SCALES[b.last]}:" + ",".join(toks))
        return "|".join(parts)

    @classmethod
    def from_key(cls, key: str) -> FasterSegArch:
        """Inverse of :meth:`key`: the network a canonical string describes.

        Raises:
            InvalidArchError: not a canonical string, or an illegal network.
        """
        codes = {v: k for k, v in OP_CODES.items()}
        scale_index = {str(s): j for j, s in enumerate(SCALES)}
        text = key.strip()
        try:
            head, *parts = text.split("|")
            if not (head.startswith("s") and "h" in head) or not parts:
                raise ValueError("expected 's<stem>h<head>|L<scale>:<cells>[|L<scale>:<cells>]'")
            stem, hw = head[1:].split("h")
            branches = []
            for part in parts:
                last_text, cells_text = part.split(":")
                if not last_text.startswith("L"):
                    raise ValueError(f"branch '{part[:20]}' does not start with L<scale>:")
                ops, path, widths = [], [], []
                toks = cells_text.split(",")
                for i, tok in enumerate(toks):
                    code, scale_text, width = tok.split("/")
                    ops.append(codes[code])
                    path.append(scale_index[scale_text.rstrip("v")])
                    if (width == "h") != (i == len(toks) - 1):
                        raise ValueError(f"cell '{tok}': only the last cell of a branch has width 'h'")
                    if width != "h":
                        widths.append(int(width))
                branches.append(Branch(scale_index[last_text[1:]], tuple(ops), tuple(path), tuple(widths)))
            arch = cls(tuple(branches), stem_width=int(stem), head_width=int(hw))
        except (ValueError, KeyError) as exc:
            why = f"unknown operator code or scale {exc}" if isinstance(exc, KeyError) else str(exc)
            raise InvalidArchError(
                f"'{text[:60]}' is not a FasterSeg architecture key ({why}); keys look like "
                "'s8h8|L32:c1/8/4,z1/8v/4,...,c1/32/h' (the 'key' field of an arch file or a benchmark entry)"
            ) from exc
        if arch.key() != text:
            raise InvalidArchError(
                f"'{text[:60]}' is not a canonical FasterSeg key (it reads back as '{arch.key()[:60]}')"
            )
        return arch

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        """The arch-file dictionary (see the module docstring)."""
        d: dict[str, Any] = {
            "format": ARCH_FORMAT,
            "version": ARCH_VERSION,
            "name": self.name,
            "stem_width": self.stem_width,
            "head_width": self.head_width,
            "branches": [
                {"last": b.last, "ops": list(b.ops), "path": list(b.path), "widths": list(b.widths)}
                for b in self.branches
            ],
            "key": self.key(),
        }
        if self.search is not None:
            d["search"] = self.search
        return d

    @classmethod
    def from_json(cls, d: Any) -> FasterSegArch:
        """Parse an arch-file dictionary; raises :class:`InvalidArchError` when malformed/illegal."""
        if not isinstance(d, dict):
            raise InvalidArchError("an arch file must hold a JSON object with a 'branches' list")
        if d.get("format", ARCH_FORMAT) != ARCH_FORMAT:
            raise InvalidArchError(f"not a FasterSeg arch file (format '{d.get('format')}', expected '{ARCH_FORMAT}')")
        if d.get("version", ARCH_VERSION) != ARCH_VERSION:
            raise InvalidArchError(
                f"unsupported arch file version {d.get('version')} (this saswot reads {ARCH_VERSION})"
            )
        raw = d.get("branches")
        if not isinstance(raw, list) or not raw:
            raise InvalidArchError("'branches' must be a non-empty list")
        branches = []
        try:
            for _k, b in enumerate(raw):
                branches.append(
                    Branch(
                        last=int(b["last"]),
                        ops=tuple(str(o) for o in b["ops"]),
                        path=tuple(int(p) for p in b["path"]),
                        widths=tuple(int(w) for w in b["widths"]),
                    )
                )
            stem = int(d.get("stem_width", 8))
            head = int(d.get("head_width", 8))
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise InvalidArchError(
                f"branch entries need integer 'last', list 'ops', integer lists 'path' and "
                f"'widths' ({type(exc).__name__}: {exc})"
            ) from exc
        search = d.get("search")
        return cls(tuple(branches), stem, head, str(d.get("name", "")), search if isinstance(search, dict) else None)


def check_structure(arch: FasterSegArch) -> None:
    """Structural legality of a decoded network (the decoder's rules: lasts, no skip, shared prefix).

    Raises:
        InvalidArchError: naming the first violated rule.
    """
    if arch.stem_width not in WIDTH_CHOICES or arch.head_width not in WIDTH_CHOICES:
        raise InvalidArchError(f"stem_width/head_width must be in {WIDTH_CHOICES} (twelfths)")
    if not 1 <= len(arch.branches) <= 2:
        raise InvalidArchError(f"a network has 1 or 2 branches (got {len(arch.branches)})")
    lasts = [b.last for b in arch.branches]
    if len(set(lasts)) != len(lasts):
        raise InvalidArchError(f"branches must end at different scales (got lasts {lasts})")
    for k, b in enumerate(arch.branches):
        where = f"branch {k} (last={b.last})"
        if b.last not in (0, 1, 2):
            raise InvalidArchError(f"{where}: 'last' must be 0, 1 or 2 (1/8, 1/16, 1/32)")
        n = len(b.ops)
        if n < 1:
            raise InvalidArchError(f"{where}: no cells")
        if len(b.path) != n:
            raise InvalidArchError(f"{where}: 'path' has {len(b.path)} entries but there are {n} ops")
        if len(b.widths) != n - 1:
            raise InvalidArchError(f"{where}: 'widths' needs len(ops) - 1 = {n - 1} entries (got {len(b.widths)})")
        for op in b.ops:
            if op not in CELL_OPS:
                raise InvalidArchError(
                    f"{where}: unknown or forbidden op '{op}' (allowed: {', '.join(CELL_OPS)}; "
                    "'skip' never appears in a decoded network)"
                )
        if b.path[0] != 0:
            raise InvalidArchError(f"{where}: path must start at scale 0 (1/8, after the stem)")
        for i in range(n - 1):
            if b.path[i + 1] - b.path[i] not in (0, 1):
                raise InvalidArchError(f"{where}: path must be monotone with steps 0 or 1 (cell {i})")
        if b.path[-1] != b.last:
            raise InvalidArchError(f"{where}: path ends at scale {b.path[-1]}, not at last={b.last}")
        for w in b.widths:
            if w not in WIDTH_CHOICES:
                raise InvalidArchError(f"{where}: width {w} not in {WIDTH_CHOICES} (χ, twelfths)")


def builtin_names() -> list[str]:
    """Names accepted by :func:`load_arch` besides paths."""
    return sorted(BUILTIN_ARCHS)


def load_arch(name_or_path: str | Path) -> FasterSegArch:
    """Load a built-in architecture (``fasterseg``), a canonical key (:meth:`FasterSegArch.key`) or an
    arch JSON file (incl. search-arch output).

    Raises:
        DataNotFoundError: the path does not exist.
        CorruptDataError: the file is not valid JSON.
        InvalidArchError: the JSON is not a legal arch.
    """
    text = str(name_or_path)
    if text in BUILTIN_ARCHS:
        data = json.loads((_DATA_DIR / BUILTIN_ARCHS[text]).read_text())
        return FasterSegArch.from_json(data)
    p = Path(text)
    if not p.is_file():
        if _looks_like_key(text):
            return FasterSegArch.from_key(text)
        if p.suffix.lower() != ".json" and _looks_like_name(text):
            raise UnknownNameError(
                f"unknown architecture '{text}': use a built-in name ({', '.join(builtin_names())}) "
                "or the path of an arch JSON file (e.g. the output of `saswot search-arch`)"
            )
        raise DataNotFoundError(
            f"arch file not found at '{p}'; check the path or use a built-in name ({', '.join(builtin_names())})"
        )
    try:
        data = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptDataError(
            f"arch file '{p}' is not valid JSON ({exc}); regenerate it with `saswot search-arch`"
        ) from exc
    try:
        return FasterSegArch.from_json(data)
    except InvalidArchError as exc:
        raise InvalidArchError(f"arch file '{p}': {exc}") from exc


def _looks_like_key(text: str) -> bool:
    """True if ``text`` (not an existing file) looks like a canonical key (``s8h8|L32:...``)."""
    return "|L" in text and ":" in text


def _looks_like_name(text: str) -> bool:
    """True if ``text`` looks like a bare name rather than a path."""
    return "/" not in text and "\\" not in text


def save_arch(arch: FasterSegArch, path: str | Path) -> Path:
    """Write ``arch`` as an arch file (atomic)."""

    return write_json(path, arch.to_json())

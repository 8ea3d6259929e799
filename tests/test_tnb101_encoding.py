"""Encodings of TransNAS-Bench-101 architectures: round trips, worked examples, malformed input."""

from __future__ import annotations

import itertools

import pytest

from saswot.errors import InvalidArchError
from saswot.spaces.tnb101.encoding import (
    MacroArch,
    MicroArch,
    all_macro_archs,
    all_micro_archs,
    arch_from_digits,
    parse_arch,
)

# (space, key, official string) from TransNAS-Bench-101's documented examples.
WORKED = [
    ("micro", "(1, 0, 0, 2, 1, 0)", "64-41414-1_00_210"),
    ("micro", "(0, 1, 1, 2, 3, 3)", "64-41414-0_11_233"),
    ("micro", "(3, 3, 3, 3, 3, 3)", "64-41414-3_33_333"),
    ("macro", "(1, 2, 4, 2, 0, 0)", "64-1242-basic"),
    ("macro", "(2, 1, 2, 4, 0, 0)", "64-2124-basic"),
    ("macro", "(1, 2, 1, 1, 1, 3)", "64-121113-basic"),
    ("macro", "(4, 1, 3, 3, 3, 1)", "64-413331-basic"),
]


@pytest.mark.parametrize("space,key,arch_str", WORKED)
def test_worked_examples_key_to_string_and_back(space: str, key: str, arch_str: str) -> None:
    a = parse_arch(key, space)
    assert a.space == space
    assert a.key == key
    assert a.arch_str == arch_str
    assert parse_arch(arch_str) == a  # space inferred from the official string
    assert parse_arch(arch_str, space) == a


def test_readme_example_cell_semantics() -> None:
    a = parse_arch("64-41414-1_02_333")
    assert isinstance(a, MicroArch)
    assert a.ops == (1, 0, 2, 3, 3, 3)
    edges = a.edge_ops()
    assert edges[(0, 1)] == "skip_connect"
    assert edges[(0, 2)] == "none" and edges[(1, 2)] == "conv1x1"
    assert edges[(0, 3)] == edges[(1, 3)] == edges[(2, 3)] == "conv3x3"


def test_all_micro_archs_round_trip() -> None:
    seen = set()
    for ops in itertools.product(range(4), repeat=6):
        a = MicroArch(ops)
        assert parse_arch(a.key, "micro") == a
        assert parse_arch(a.arch_str) == a
        assert parse_arch(a.cell_str) == a
        seen.add(a.key)
    assert len(seen) == 4096


def test_macro_space_has_3256_valid_codes_and_all_round_trip() -> None:
    valid = []
    for n in range(1, 8):
        for code in itertools.product(range(1, 5), repeat=n):
            try:
                valid.append(MacroArch(code))
            except InvalidArchError:
                continue
    assert len(valid) == 3256  # TransNAS-Bench-101's macro space size
    for a in valid:
        assert parse_arch(a.key, "macro") == a
        assert parse_arch(a.arch_str) == a
        assert len(a.key.split(",")) == 6


def test_key_format_spacing_and_brackets_are_flexible() -> None:
    a = parse_arch("(1,0,0,2,1,0)", "micro")
    assert a.key == "(1, 0, 0, 2, 1, 0)"
    assert parse_arch("[1, 0, 0, 2, 1, 0]", "micro") == a
    assert parse_arch("  1, 0, 0, 2, 1, 0 ", "micro") == a


def test_macro_padding_is_canonical_and_hashable() -> None:
    a = MacroArch((1, 2, 4, 2, 0, 0))
    b = MacroArch((1, 2, 4, 2))
    assert a == b and hash(a) == hash(b)
    assert a.modules == (1, 2, 4, 2)
    assert a.num_downsample == 1 and a.num_channel_doubling == 3
    assert {a: 1}[b] == 1
    assert arch_from_digits([1, 2, 4, 2], "macro") == a


def test_space_inference_for_keys() -> None:
    assert parse_arch("(1, 0, 0, 2, 1, 0)").space == "micro"  # 0 inside: micro only
    assert parse_arch("(4, 1, 3, 3, 3, 1)").space == "macro"  # digit 4: macro only
    with pytest.raises(InvalidArchError, match="both the micro and the macro"):
        parse_arch("(1, 2, 3, 3, 2, 1)")


def test_already_parsed_arch_passes_through() -> None:
    a = parse_arch("64-1242-basic")
    assert parse_arch(a) is a
    with pytest.raises(InvalidArchError, match="macro space, not micro"):
        parse_arch(a, "micro")


@pytest.mark.parametrize(
    "text,space,fragment",
    [
        ("(1, 0, 0, 2, 1)", "micro", "has 5 entries"),
        ("(1, 0, 0, 2, 1, 0, 0)", "micro", "has 7 entries"),
        ("(1, 0, 0, 2, 1, 4)", "micro", "op code 4 at position 5 is out of range"),
        ("(1, 0, -1, 2, 1, 0)", "micro", "op code -1 at position 2"),
        ("(1, 2, 5, 2, 0, 0)", "macro", "module code 5 at position 2 is out of range"),
        ("(1, 2, 0, 2, 4, 0)", "macro", "0 before a non-zero module"),
        ("(1, 2, 4, 0, 0, 0)", "macro", "3 modules"),
        ("(1, 2, 1, 2, 1, 2)", "macro", "0 stride-2 modules"),
        ("(3, 3, 3, 3, 4, 1)", "macro", "5 stride-2 modules"),
        ("(3, 1, 1, 1, 0, 0)", "macro", "0 channel-doubling modules"),
        ("(2, 2, 2, 4, 1, 0)", "macro", "4 channel-doubling modules"),
        ("32-41414-1_00_210", None, "base channels must be 64"),
        ("64-4141-1_00_210", None, "fixed skeleton 41414"),
        ("64-41414-1_00_21", None, "cell part"),
        ("64-41414-4_00_210", None, "op code 4 at position 0 is out of range"),
        ("64-41414-1_00_210", "macro", "micro-space string but space 'macro'"),
        ("64-1242-basic", "micro", "macro-space string"),
        ("64-1242", None, "three '-'-separated parts"),
        ("64-12a2-basic", None, "digits 1–4"),
        ("64-1111-basic", None, "0 stride-2 modules"),
        ("64-1234123-basic", None, "7 modules"),
        ("1_0_210", None, "a_bc_def"),
        ("hello", None, "cannot parse architecture"),
        ("", None, "empty architecture"),
        ("(1, 0, 0, 2, 1, 0)", "nano", "unknown search space"),
    ],
)
def test_malformed_input_raises_clear_error(text: str, space: str | None, fragment: str) -> None:
    with pytest.raises(InvalidArchError) as info:
        parse_arch(text, space)
    assert fragment in str(info.value)


def test_constructors_validate() -> None:
    with pytest.raises(InvalidArchError, match="exactly 6 op codes"):
        MicroArch((1, 2, 3))
    with pytest.raises(InvalidArchError, match="out of range"):
        MicroArch((1, 2, 3, 0, 0, True))  # bools are not op codes
    with pytest.raises(InvalidArchError, match="7 modules"):
        MacroArch((1, 2, 3, 4, 1, 2, 3))
    with pytest.raises(InvalidArchError):
        parse_arch(123)  # type: ignore[arg-type]


def test_enumerators_cover_both_spaces() -> None:
    micro, macro = all_micro_archs(), all_macro_archs()
    assert len(micro) == len(set(micro)) == 4096
    assert len(macro) == len(set(macro)) == 3256
    assert micro[0].key == "(0, 0, 0, 0, 0, 0)" and macro[0].space == "macro"

"""Property-based: every parser of user input raises nothing but saswot's own errors."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saswot.errors import SaswotError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# JSON values of any shape, biased towards the keys the files use
KEYS = st.sampled_from(
    ["name", "expression", "avt", "ranges", "meta", "branches", "ops", "widths", "cells", "arch", "miou", "label",
     "scores", "settings", "combine_with", "min", "max", "space", "recipe_id", "seed", "key", "x"]
)
SCALARS = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=30)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS | st.text(max_size=8), inner, max_size=6),
    max_leaves=25,
)
TEXT = st.text(max_size=60) | st.from_regex(r"[0-9a-z_\-x:;,@. ()\[\]]{0,40}", fullmatch=True)


def _only_saswot_errors(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except SaswotError:
        pass


def _write(tmp: Path, name: str, payload: str) -> Path:
    path = tmp / name
    path.write_text(payload)
    return path


def _files(value: Any) -> list[str]:
    """The JSON document, and a few byte-level corruptions of it."""
    text = json.dumps(value)
    return [text, text[: len(text) // 2], text + "}", "\x00" + text]


def _read_each(texts: list[str], suffix: str, read: Callable[[Path], Any]) -> None:
    """Write each text to its own file and read it: only saswot's own errors may come out."""
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(texts):
            path = _write(Path(tmp), f"file{i}{suffix}", text)
            _only_saswot_errors(lambda p=path: read(p))


@FUZZ
@given(TEXT)
def test_arch_strings(text: str) -> None:
    from saswot.spaces import get_space

    for space in ("micro", "macro", "fasterseg"):
        _only_saswot_errors(lambda sp=space: get_space(sp).parse(text))


@FUZZ
@given(TEXT)
def test_resolutions(text: str) -> None:
    from saswot.cli._options import parse_resolution

    _only_saswot_errors(lambda: parse_resolution(text, "--resolution"))


@FUZZ
@given(TEXT)
def test_proxy_lists_and_ensemble_specs(text: str) -> None:
    from saswot.proxies import resolve_proxies
    from saswot.proxies._ensemble import parse_ensemble, split_proxy_list

    _only_saswot_errors(lambda: split_proxy_list(text))
    _only_saswot_errors(lambda: parse_ensemble(text))
    if ".json" not in text:  # a .json name is a file path: covered below
        _only_saswot_errors(lambda: resolve_proxies(text))


@FUZZ
@given(TEXT | JSON.map(json.dumps))
def test_score_kwargs(text: str) -> None:
    from saswot.cli.score_cmd import parse_kwargs

    _only_saswot_errors(lambda: parse_kwargs(text))


@FUZZ
@given(JSON)
def test_arch_json(value: Any) -> None:
    from saswot.spaces.fasterseg.arch import FasterSegArch, load_arch

    _only_saswot_errors(lambda: FasterSegArch.from_json(value))
    _read_each(_files(value), ".json", load_arch)


@FUZZ
@given(JSON)
def test_proxy_json(value: Any) -> None:
    from saswot.proxies._proxyfile import load_proxy_file

    _read_each(_files(value), ".json", load_proxy_file)


@FUZZ
@given(JSON)
def test_avt_json(value: Any) -> None:
    from saswot.proxies._avt import AVTStats

    _read_each(_files(value), ".json", AVTStats.read)


@FUZZ
@given(st.lists(JSON, max_size=4))
def test_bench_files(lines: list[Any]) -> None:
    from saswot.workflows.minibench import load_bench

    jsonl = "\n".join(json.dumps(v) for v in lines)
    _read_each([jsonl, jsonl[: len(jsonl) // 2], jsonl + "\n{"], ".jsonl", load_bench)


@FUZZ
@given(JSON)
def test_tnb101_bench_json(value: Any) -> None:
    from saswot.spaces import get_space

    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(_files(value)):
            path = _write(Path(tmp), f"zc_transbench101_micro{i}.json", text)
            _only_saswot_errors(lambda p=path: get_space("micro").benchmark(p, None))


@pytest.mark.parametrize("text", ["", "{", "[]", '{"num_classes": 19}', "3", "null"])
def test_score_kwargs_examples(text: str) -> None:
    from saswot.cli.score_cmd import parse_kwargs

    try:
        value = parse_kwargs(text)
    except SaswotError:
        return
    assert isinstance(value, dict)


def _leaves(doc: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every node of a JSON document."""
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _leaves(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _leaves(v, (*path, i))
    return out


def _replace(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(doc))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


def _mutated(valid: Any) -> st.SearchStrategy[Any]:
    """A valid document with one node replaced by any JSON value."""
    paths = _leaves(valid)
    return st.tuples(st.sampled_from(paths), JSON).map(lambda pv: _replace(valid, pv[0], pv[1]))


def _valid_arch() -> Any:
    from saswot.spaces.fasterseg.arch import load_arch

    return load_arch("fasterseg").to_json()


def _valid_proxy() -> Any:
    from importlib import resources

    return json.loads(resources.files("saswot").joinpath("data", "auto-micro.json").read_text())


def _valid_avt() -> Any:
    from importlib import resources

    return json.loads(resources.files("saswot").joinpath("data", "avt", "micro.json").read_text())


@FUZZ
@given(_mutated(_valid_arch()))
def test_arch_json_one_field_wrong(value: Any) -> None:
    from saswot.spaces.fasterseg.arch import FasterSegArch
    from saswot.spaces.fasterseg.builder import build_network

    try:
        arch = FasterSegArch.from_json(value)
    except SaswotError:
        return
    _only_saswot_errors(lambda: arch.key())
    _only_saswot_errors(lambda: build_network(arch, 3) if arch.branches else None)


@FUZZ
@given(_mutated(_valid_proxy()) | st.fixed_dictionaries({"name": TEXT, "expression": TEXT}))
def test_proxy_json_one_field_wrong(value: Any) -> None:
    from saswot.proxies._proxyfile import load_proxy_file

    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "p.json", json.dumps(value))
        _only_saswot_errors(lambda: load_proxy_file(path))


@FUZZ
@given(_mutated(_valid_avt()))
def test_avt_json_one_field_wrong(value: Any) -> None:
    from saswot.proxies._avt import AVTStats

    _only_saswot_errors(lambda: AVTStats.from_json(value))

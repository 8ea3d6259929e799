"""Claims that keep two workers off one job: ``<work>/claims/<job>.json``, written under the bench
file's lock; a claim whose owner stops renewing it expires after its lease."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saswot.utils.io import write_json


# ----------------------------------------------------------------------------- claims
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Claims:
    """Claim files ``<folder>/<job_id>.json``; read and written under the bench file's lock.

    Attributes:
        folder: where claims live.
        lease_s: a claim not renewed for this long is considered abandoned.
        owner: this worker's identity (``host:pid``).
    """

    folder: Path
    lease_s: float = 1800.0
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def _path(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.json"

    def active(self, job_id: str, now: float | None = None) -> dict[str, Any] | None:
        """The live claim of another worker on ``job_id``, or None."""
        p = self._path(job_id)
        try:
            d = json.loads(p.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        if d.get("owner") == self.owner:
            return None
        now = time.time() if now is None else now
        if now - float(d.get("heartbeat", 0)) > self.lease_s:
            return None
        host, _, pid = str(d.get("owner", "")).rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
            return None
        return d

    def take(self, job_id: str) -> None:
        """Write (or renew) this worker's claim on ``job_id``."""

        p = self._path(job_id)
        started = time.time()
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            old = json.loads(p.read_text())
            if old.get("owner") == self.owner:
                started = float(old.get("started", started))
        write_json(p, {"owner": self.owner, "started": started, "heartbeat": time.time()})

    def release(self, job_id: str) -> None:
        """Remove this worker's claim (if it is still ours)."""
        p = self._path(job_id)
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            if json.loads(p.read_text()).get("owner") == self.owner:
                p.unlink()

    def count_active(self, job_ids: Sequence[str]) -> int:
        """Number of jobs in ``job_ids`` with a live claim of another worker."""
        return sum(self.active(j) is not None for j in job_ids)

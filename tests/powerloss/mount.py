#!/usr/bin/python3
"""tests/powerloss/mount.py — runs fusefs.py as a process: mount, cut power, unmount.

Owns: the test-side handle of one mount of the power-loss filesystem (one fusefs.py
process per mount; a remount after a cut is a new process over the same backing
directory, i.e. the machine after a reboot), and unavailable(), the reason this machine
cannot run it (no /dev/fuse) or None.
Never: waits unboundedly (every wait has a deadline), unmounts anything but its own
mount point.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

from harness import PYTHON, spawn_until_ready  # noqa: E402


def unavailable() -> Optional[str]:
    """Why the power-loss filesystem cannot run here, or None. Only a missing /dev/fuse is
    a reason to skip; a missing package is an error the test reports (setup-debian.sh)."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is absent: no FUSE on this machine, the power-loss test cannot mount"
    return None


def _unmount_command(mountpoint: Path) -> list:
    if os.geteuid() == 0 or not shutil.which("fusermount"):
        return ["umount", str(mountpoint)]
    return ["fusermount", "-u", str(mountpoint)]


class PowerLossMount:
    """fusefs.py BACKING MOUNTPOINT in the background; log to `log_path`."""

    def __init__(self, backing: Path, mountpoint: Path, control: Path, log_path: Path):
        self.backing, self.mountpoint = Path(backing), Path(mountpoint)
        self.control, self.log_path = Path(control), Path(log_path)
        self.proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 20.0) -> "PowerLossMount":
        deadline = time.monotonic() + timeout
        self.proc, line = spawn_until_ready(
            [PYTHON, str(HERE / "fusefs.py"), str(self.backing), str(self.mountpoint),
             "--control", str(self.control)], self.log_path, timeout)
        if not line.startswith(b"READY"):
            self.unmount()
            raise RuntimeError(f"power-loss filesystem did not mount at {self.mountpoint} "
                               f"(it needs fuse3 and python3-fusepy: scripts/setup-debian.sh "
                               f"--test): {self.log_path.read_text(errors='replace')[-3000:]}")
        # The control socket is bound right after READY is printed.
        while not self.control.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def _ask(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(str(self.control))
            s.sendall(command.encode() + b"\n")
            return s.makefile("r").readline().strip()

    def cut(self) -> None:
        """Power cut: from now on the backing directory is the durable state only."""
        reply = self._ask("cut")
        if reply != "ok":
            raise RuntimeError(f"power cut refused: {reply!r}")

    def stats(self) -> dict:
        return json.loads(self._ask("stats"))

    def mounted(self) -> bool:
        # Not os.path.ismount: it stats the mount point, which fails (EIO) after a cut.
        target = os.path.realpath(self.mountpoint)
        with open("/proc/self/mounts") as mounts:
            return any(line.split()[1] == target for line in mounts)

    def unmount(self, timeout: float = 20.0) -> None:
        """Unmounts (a sync, unless the power was cut) and waits for the process to end;
        if it does not, kills it and detaches the mount lazily."""
        if self.proc is None:
            return
        deadline = time.monotonic() + timeout
        while self.mounted() and time.monotonic() < deadline:
            if subprocess.run(_unmount_command(self.mountpoint), capture_output=True).returncode == 0:
                break
            time.sleep(0.2)  # busy: a killed process's last close may still be in flight
        try:
            self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.mounted():
            subprocess.run(["umount", "-l", str(self.mountpoint)], capture_output=True)
        self.proc.stdout.close()
        self.proc = None

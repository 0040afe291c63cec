#!/usr/bin/python3
"""tests/e2e/test_disk_full.py — a full state filesystem: 4xx, no loss, self-recovery.

Owns: the relay's state_dir on a small tmpfs (mount -t tmpfs -o size=8m; needs root —
skipped with a clear message when mount is not allowed). With the hop down (so mail
stays queued), a filler file leaves little space; clients then keep sending 64 KiB
messages until the relay refuses with 452 4.3.1 (or 451 4.3.0). Checks: the relay is
still running and answering; once the filler is deleted it accepts again by itself
(no restart); when the hop comes up every message that got 250 is delivered.
Never: asserts timing; unmounts what it mounted even when the test fails.
Standards: RFC 5321 §4.2.5/§4.5.3.1.9 (452 insufficient storage), RFC 3463 (4.3.1).
"""

import os
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from faults import FaultHop, dedupe_report  # noqa: E402
from harness import (INBOUND_HOST, E2ETestCase, Hop, build_message, free_port,  # noqa: E402
                     smtp_connect, wait_for)

TMPFS_SIZE = "8m"
MESSAGE_BODY = (b"z" * 998 + b"\r\n") * 65  # ~64 KiB, lines within RFC 5322 limits


def try_send(port: int, body: bytes):
    """One message in its own session: (code, text, Message-ID); code 0 = no session."""
    mid, msg = build_message(subject="disk full", body=body)
    try:
        with smtp_connect(INBOUND_HOST, port, timeout=30) as s:
            s.mail("alice@example.net")
            code, _ = s.rcpt("bob@example.com")
            if code != 250:
                return code, "rcpt", mid
            code, text = s.data(msg)
            return code, text.decode(errors="replace"), mid
    except Exception as e:  # noqa: BLE001 — any failure is "not accepted" here
        return 0, repr(e), mid


class DiskFullTest(E2ETestCase):
    def mount_small_state(self) -> Path:
        state = self.dir / "state"
        state.mkdir(exist_ok=True)
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs",
                              str(state)], capture_output=True, text=True, timeout=30)
        if res.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs for the state directory (needs root): "
                          f"{res.stderr.strip()}")
        self.addCleanup(lambda: subprocess.run(["umount", "-l", str(state)], timeout=30))
        return state

    def test_full_disk_gives_452_keeps_acknowledged_and_recovers(self):
        state = self.mount_small_state()
        hop_port = free_port("127.0.0.1")
        cfg, path = self.make_config([Hop("hub", hop_port)], [Hop("smarthost", hop_port)],
                                     log_level="info")
        self.assertEqual(cfg.state_dir, state)
        relay = self.start_relay(cfg, path)

        # Leave ~1 MiB: a dozen messages fit, then the filesystem is full.
        st = os.statvfs(state)
        free = st.f_bavail * st.f_frsize
        filler = state / "filler"
        with open(filler, "wb") as f:
            f.write(b"\0" * max(0, free - 1024 * 1024))
        acked, refusals = [], []
        for _ in range(200):
            code, text, mid = try_send(cfg.inbound_port, MESSAGE_BODY)
            if code == 250:
                acked.append(mid)
            else:
                refusals.append((code, text))
                if len(refusals) >= 3:
                    break
        print(f"[e2e] disk full: {len(acked)} accepted before full; refusals: {refusals}",
              file=sys.stderr)
        self.assertTrue(refusals, "200 x 64 KiB accepted on an 8 MiB filesystem?")
        for code, text in refusals:
            self.assertTrue((code, text[:5]) in ((452, "4.3.1"), (451, "4.3.0")),
                            f"a full disk must give 452 4.3.1 (or 451 4.3.0), got {code} {text}")
        self.assertTrue(relay.running(), "hubrelay died when the disk filled\n" + relay.tail())

        filler.unlink()

        def accepts_again():
            code, _, mid = try_send(cfg.inbound_port, b"after the disk was freed\r\n")
            if code == 250:
                acked.append(mid)
                return True
            time.sleep(0.5)
            return False

        wait_for(accepts_again, 60, "a 250 after the filler was deleted (no restart)")

        hop = FaultHop(hop_port).start()
        self.addCleanup(hop.stop)
        try:
            wait_for(lambda: not dedupe_report(acked, hop.message_ids())[0], 90,
                     f"{len(acked)} acknowledged messages at the hop")
        except TimeoutError:
            missing, _ = dedupe_report(acked, hop.message_ids())
            self.fail(f"{len(missing)} of {len(acked)} acknowledged messages lost after a "
                      f"full disk")
        self.assertTrue(relay.running())


if __name__ == "__main__":
    unittest.main(verbosity=2)

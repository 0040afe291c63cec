#!/usr/bin/python3
"""tests/e2e/test_disk_full.py — a full state filesystem: 4xx, no loss, self-recovery.

Owns: the relay's state_dir on a small tmpfs (mount -t tmpfs -o size=8m; needs root —
skipped with a clear message when mount is not allowed). With the hop down (so mail
stays queued), a filler file leaves little space; clients then keep sending 64 KiB
messages until the relay refuses with 452 4.3.1 (or 451 4.3.0). Checks: the relay is
still running and answering; once the filler is deleted it accepts again by itself
(no restart); when the hop comes up every message that got 250 is delivered.
A delivery result that does not fit: the hop holds its 250 while the test fills the disk
to the last page, so the result of a delivery that succeeded cannot be written; once
space returns it is written within a minute (not after the lease), and a restart does
not deliver the message a second time.
Never: asserts timing; unmounts what it mounted even when the test fails.
Standards: RFC 5321 §4.2.5/§4.5.3.1.9 (452 insufficient storage), RFC 3463 (4.3.1).
"""

import errno
import os
import sqlite3
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from faults import FaultHop, dedupe_report  # noqa: E402
from harness import (INBOUND_HOST, E2ETestCase, Hop, build_message, fetch_metrics,  # noqa: E402
                     free_port, smtp_connect, wait_for)

TMPFS_SIZE = "8m"
MESSAGE_BODY = (b"z" * 998 + b"\r\n") * 65  # ~64 KiB, lines within RFC 5322 limits


DELIVERED = 1  # queue::RecipientState::delivered


def fill_up(path: Path) -> None:
    """Writes `path` until the filesystem has not a byte left (ENOSPC or a short write)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1024 * 1024, 4096, 1):
            chunk = b"\0" * size
            for _ in range(100_000):
                try:
                    if os.write(fd, chunk) < size:
                        break
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)


def recipient_states(state: Path):
    """Every recipient's state in the queue, read-only next to the running writer."""
    con = sqlite3.connect(f"file:{state / 'queue.db'}?mode=ro", uri=True, timeout=5)
    try:
        return [row[0] for row in con.execute("SELECT state FROM recipients")]
    finally:
        con.close()


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

    def test_delivery_result_that_does_not_fit_is_written_once_space_returns(self):
        state = self.mount_small_state()
        hop_port = free_port("127.0.0.1")
        admin_port = free_port("127.0.0.1")
        cfg, path = self.make_config([Hop("hub", hop_port)], [Hop("smarthost", hop_port)],
                                     log_level="info",
                                     extra_toml=f'[admin]\nlisten = "127.0.0.1:{admin_port}"\n')
        hop = FaultHop(hop_port, "hold").start()
        self.addCleanup(hop.stop)
        relay = self.start_relay(cfg, path)

        code, text, mid = try_send(cfg.inbound_port, b"delivered while the disk is full\r\n")
        self.assertEqual(code, 250, text)
        wait_for(lambda: hop.held_count() >= 1, 60, "the message at the hop, awaiting its 250")
        filler = state / "filler"
        fill_up(filler)
        hop.release_held()  # the hop takes it: the relay must now write "delivered"
        wait_for(lambda: "cannot record delivery outcomes" in relay.log_text(), 60,
                 "the delivery result refused by the full disk")
        self.assertEqual(hop.message_ids().count(mid), 1)
        filler.unlink()
        try:
            wait_for(lambda: recipient_states(state) == [DELIVERED], 60,
                     "the delivery result written after space returned")
        except TimeoutError:
            self.fail(f"the delivery result was not written within 60 s of space returning "
                      f"(recipients: {recipient_states(state)}): the recipient stays leased and "
                      f"is delivered again when the lease ends or after a restart")
        self.assertIn("delivery outcomes recorded again", relay.log_text())
        self.assertGreaterEqual(
            fetch_metrics(admin_port).get("hubrelay_delivery_record_failures_total", 0), 1)

        # A restart recovers every pending recipient: a delivered one must not be among them.
        relay.stop()
        hop.set_mode("accept")
        relay = self.start_relay(cfg, path)
        code, text, marker = try_send(cfg.inbound_port, b"after the restart\r\n")
        self.assertEqual(code, 250, text)
        wait_for(lambda: marker in hop.message_ids(), 60, "a message sent after the restart")
        self.assertEqual(hop.message_ids().count(mid), 1, "the message was delivered twice")
        self.assertTrue(relay.running())


if __name__ == "__main__":
    unittest.main(verbosity=2)

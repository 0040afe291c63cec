#!/usr/bin/python3
"""tests/e2e/test_powerloss.py — a power cut under load loses nothing acknowledged.

Owns: ROUNDS rounds (HUBRELAY_POWERLOSS_ROUNDS, default 3; seed HUBRELAY_POWERLOSS_SEED)
of: the relay runs with state_dir on the power-loss filesystem (tests/powerloss: writes
are volatile until fsynced, directory entries until the directory is fsynced) while
concurrent SMTP sessions send uniquely Message-ID'd mail and record every message that
got 250, with the next hop down (mail stays queued) or slow (deliveries and outcome
commits in flight); at a random moment the power is cut, the relay gets kill -9 and the
filesystem is unmounted. A copy of the durable state must pass PRAGMA integrity_check
and have no orphans (tests/powerloss/state_check.py); then a fresh mount over the same
disk, the hop up, a new relay: every acknowledged message must arrive byte for byte
(one Received: header prepended). Duplicates are counted and reported, not failed. The
relay of one round's recovery keeps running into the next round's load, so a cut also
lands on state the recovery wrote.
The figures (rounds, acknowledged, delivered, lost, duplicates, integrity) go to stderr
and, as JSON, to HUBRELAY_POWERLOSS_SUMMARY if set (bench/powerloss.sh).
Skipped only without /dev/fuse. Never asserts timing; every wait is bounded.
Standards: RFC 5321 §6.1 (an accepted message must not be lost).
"""

import collections
import json
import os
import random
import shutil
import sqlite3
import sys
import time
import unittest
from pathlib import Path
from typing import Dict, List

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "powerloss"))

from harness import (INBOUND_HOST, E2ETestCase, Hop, free_port, message_id_of,  # noqa: E402
                     received_prefix, wait_for)
from sink import read_messages  # noqa: E402
from faults import LoadClient  # noqa: E402
from mount import PowerLossMount, unavailable  # noqa: E402
from state_check import find_orphans, integrity_check  # noqa: E402

ROUNDS = int(os.environ.get("HUBRELAY_POWERLOSS_ROUNDS", "3"))
THREADS = 4
# Body sizes: mostly small, some spilling into SQLite overflow pages, some over
# [queue] inline_body_max (64 KiB) and so in spool files.
SIZES = (300, 300, 2000, 2000, 12000, 60000, 100000, 300000)


def pending_recipients(state_dir: Path) -> int:
    """Recipients still to deliver, read next to the running relay (-1: cannot tell yet)."""
    try:
        con = sqlite3.connect(f"file:{state_dir / 'queue.db'}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT count(*) FROM recipients WHERE state = 0").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return -1


def random_body(rng: random.Random) -> bytes:
    """A body of one of SIZES bytes, one random line repeated (distinct per message)."""
    line = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(62))
    return (line.encode() + b"\r\n") * max(1, rng.choice(SIZES) // 64)


class PowerLossTest(E2ETestCase):
    def setUp(self):
        reason = unavailable()
        if reason:
            self.skipTest(reason)
        super().setUp()

    def mount(self, n: int) -> PowerLossMount:
        m = PowerLossMount(self.dir / "disk", self.dir / "mnt", self.dir / f"fs-{n}.sock",
                           self.dir / f"fs-{n}.log")
        self._logs.append(m.log_path)
        self.addCleanup(m.unmount)
        return m.start()

    def deliveries(self) -> Dict[str, List[bytes]]:
        """Message-ID -> every delivered copy, from the sink's store (kept across restarts)."""
        out = collections.defaultdict(list)
        for m in read_messages(self.dir / "sink-hub"):
            out[message_id_of(m.raw)].append(m.raw)
        return out

    # -- one round's steps --
    def reboot(self) -> None:
        """A fresh mount over the same disk, the hop up, a new relay."""
        self.mounts += 1
        self.fs = self.mount(self.mounts)
        self.sink = self.start_sink("hub", self.sink_port)
        self.relay = self.start_relay(self.cfg, self.config_path)

    def cut_under_load(self, round_no: int, rng: random.Random) -> dict:
        """Load with the hop down or slow, the power cut at a random moment once something
        was acknowledged, kill -9, unmount. Returns the round's record."""
        upstream = rng.choice(("down", "down", "slow"))
        if upstream == "slow":
            self.sink = self.start_sink("hub", self.sink_port, modes=["delay=0.3"])
        client = LoadClient(INBOUND_HOST, self.cfg.inbound_port, threads=THREADS, timeout=10,
                            tag=f"r{round_no}", body=random_body, seed=self.seed + round_no).start()
        self.addCleanup(client.stop)
        started = time.monotonic()
        wait_for(lambda: client.acked_ids(), 60, "a first 250 in this round")
        time.sleep(rng.uniform(0.0, 2.0))
        fs_stats = self.fs.stats()
        self.fs.cut()
        self.relay.kill()
        client.stop()
        if self.sink is not None:
            self.sink.stop()
            self.sink = None
        self.fs.unmount()
        self.acked.update(client.sent)
        self.replies.update(client.replies)
        return {"round": round_no, "upstream": upstream, "acked": len(client.sent),
                "load_seconds": round(time.monotonic() - started, 1), "fs": fs_stats}

    def judge_disk(self, round_no: int) -> dict:
        """integrity_check and orphans of a copy of the durable state (kept if bad)."""
        evidence = self.dir / f"after-cut-{round_no}"
        shutil.copytree(self.dir / "disk", evidence)
        verdict = {"integrity": integrity_check(evidence / "state"),
                   "orphans": find_orphans(evidence / "state", at_rest=False)}
        if verdict["integrity"] in ("ok", "no database") and not verdict["orphans"]:
            shutil.rmtree(evidence)
        return verdict

    def wait_for_recovery(self) -> float:
        """Until every acknowledged message arrived or the relay has nothing left to do."""
        started = time.monotonic()
        try:
            wait_for(lambda: set(self.acked) <= self.deliveries().keys()
                     or pending_recipients(self.cfg.state_dir) == 0, 180,
                     f"{len(self.acked)} acknowledged messages at the hop", interval=0.5)
        except TimeoutError:
            pass  # judged with the numbers
        return round(time.monotonic() - started, 1)

    def summarise(self, rounds: List[dict]) -> dict:
        delivered = self.deliveries()
        acked = self.acked
        lost = [m for m in acked if m not in delivered]
        damaged = [m for m in acked if m in delivered and
                   not any(received_prefix(acked[m], raw)[0] for raw in delivered[m])]
        summary = {"seed": self.seed, "rounds": len(rounds), "acked": len(acked),
                   "delivered": len(acked) - len(lost), "lost": len(lost), "lost_ids": lost[:5],
                   "damaged": len(damaged), "damaged_ids": damaged[:5],
                   "duplicates": sum(len(delivered[m]) - 1 for m in acked if len(delivered.get(m, [])) > 1),
                   "integrity": [r["integrity"] for r in rounds],
                   "orphans_after_cuts": sum(len(r["orphans"]) for r in rounds),
                   "replies": dict(self.replies)}
        print(f"[e2e] power cut summary: {json.dumps(summary)}", file=sys.stderr)
        return summary

    def test_power_cut_rounds_lose_nothing_acknowledged(self):
        self.seed = int(os.environ.get("HUBRELAY_POWERLOSS_SEED", str(int(time.time()))))
        rng = random.Random(self.seed)
        print(f"[e2e] power cut under load: {ROUNDS} rounds, seed {self.seed}", file=sys.stderr)
        (self.dir / "disk").mkdir()
        (self.dir / "mnt").mkdir()
        self.sink_port = free_port("127.0.0.1")
        self.cfg, self.config_path = self.make_config(
            [Hop("hub", self.sink_port)], [Hop("smarthost", self.sink_port)], log_level="info")
        self.cfg.state_dir = self.dir / "mnt" / "state"
        self.cfg.write(self.config_path)
        self.acked: Dict[str, bytes] = {}
        self.replies = collections.Counter()
        self.mounts, self.sink = 1, None
        self.fs = self.mount(self.mounts)
        self.relay = self.start_relay(self.cfg, self.config_path)

        rounds = []
        for round_no in range(ROUNDS):
            record = self.cut_under_load(round_no, rng)
            record.update(self.judge_disk(round_no))
            rounds.append(record)
            if record["integrity"] not in ("ok", "no database") or record["orphans"]:
                break  # judged below, after the summary
            self.reboot()
            record["recovery_seconds"] = self.wait_for_recovery()
            print(f"[e2e] round {round_no}: {json.dumps(record)}", file=sys.stderr)
            if not set(self.acked) <= self.deliveries().keys():
                break
            self.sink.stop()  # down again for the next round's load
            self.sink = None

        summary = self.summarise(rounds)
        self.relay.stop()
        self.fs.unmount()  # clean: a sync
        summary["orphans_at_end"] = find_orphans(self.dir / "disk" / "state")
        if os.environ.get("HUBRELAY_POWERLOSS_SUMMARY"):
            Path(os.environ["HUBRELAY_POWERLOSS_SUMMARY"]).write_text(
                json.dumps(dict(summary, per_round=rounds), indent=1) + "\n")
        for r in rounds:
            self.assertIn(r["integrity"], ("ok", "no database"), f"round {r['round']}: queue.db damaged")
            self.assertEqual(r["orphans"], [], f"round {r['round']}: orphans after the cut")
        self.assertGreater(summary["acked"], len(rounds), "the load got almost no 250s")
        self.assertEqual(summary["lost"], 0, f"acknowledged messages lost to power cuts (seed "
                                             f"{self.seed}); first: {summary['lost_ids']}")
        self.assertEqual(summary["damaged"], 0, f"delivered messages that differ from what was "
                                                f"sent: {summary['damaged_ids']}")
        self.assertEqual(summary["orphans_at_end"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)

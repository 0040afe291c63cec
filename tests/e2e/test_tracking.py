#!/usr/bin/python3
"""tests/e2e/test_tracking.py — message tracking records and `hubrelay track`.

Owns: the tracking contract seen from outside: a message deferred by one hop (4xx) and
delivered by another has its whole story in `hubrelay track --message-id … --by-message`
(received → queued → deferred at the first hop with its reply → delivered at the
second); a relay killed with -9 under load leaves every completed record readable (every
line ending in a newline parses as JSON); files rotate by size and old files go at
start (retention); a message above inline_body_max (spooled) has its Message-ID on
its receive and queue records, and a delivery over STARTTLS names its protocol and
cipher; the search over 20,000 generated records (bench/tracking_search.py)
finds by recipient, Message-ID, domain and queue id the records a plain scan finds.
Never: asserts timing (search timings are printed, not judged); waits are bounded.
"""

import json
import os
import sys
import threading
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.append(str(HERE.parent.parent / "bench"))  # after tests/e2e: bench has a harness.py too

from harness import (OUTBOUND_HOST, E2ETestCase, Hop, build_message,  # noqa: E402
                     run_cli, smtp_connect, smtp_transaction, wait_for)
from tracking_search import generate  # noqa: E402
from test_routing import make_certificate  # noqa: E402

WAIT = 30.0


def tracking_lines(directory):
    """Every line of every tracking file, with whether it ended in a newline."""
    out = []
    for f in sorted(Path(directory).glob("tracking-*.jsonl")):
        data = f.read_bytes()
        for piece in data.split(b"\n")[:-1]:
            out.append(piece)
        if data and not data.endswith(b"\n"):
            out.append(None)  # a record cut by the crash: allowed, once, at a file's end
    return out


def records(directory):
    return [json.loads(line) for line in tracking_lines(directory) if line is not None]


class TrackingStoryTest(E2ETestCase):
    def test_deferred_at_one_hop_delivered_at_another(self):
        a = self.start_sink("a-tempfail", modes=["tempfail"])
        b = self.start_sink("b")
        hops = [Hop("up-a", a.port), Hop("up-b", b.port)]
        cfg, path = self.make_config(hops, hops)
        self.start_relay(cfg, path)
        mids = []
        with smtp_connect(OUTBOUND_HOST, cfg.outbound_port) as s:
            for i in range(10):
                mid, msg = build_message(sender="carol@example.com", to=[f"r{i}@elsewhere.example.org"],
                                         subject=f"story {i}")
                smtp_transaction(s, "carol@example.com", [f"r{i}@elsewhere.example.org"], msg)
                mids.append(mid)
        tracking = cfg.state_dir / "tracking"
        # Equal-cost hops: some messages go to the tempfailing hop first, then to B.
        deferred = wait_for(lambda: [r for r in records(tracking) if r["event"] == "defer"
                                     and r.get("hop") == "up-a"], WAIT, "a deferral at up-a")
        qid = deferred[0]["queue_id"]
        wait_for(lambda: any(r["event"] == "deliver" and r["queue_id"] == qid for r in records(tracking)),
                 WAIT, f"delivery of {qid}")
        mid = next(r["message_id"] for r in records(tracking)
                   if r["event"] == "receive" and r["queue_id"] == qid)
        self.assertIn(f"<{mid}>", mids)

        done = run_cli(["track", "--config", str(path), "--message-id", mid, "--json"])
        self.assertEqual(done.returncode, 0, done.stderr)
        story = [json.loads(line) for line in done.stdout.splitlines()]
        events = [r["event"] for r in story]
        self.assertEqual(events[:2], ["receive", "queue"], events)
        self.assertIn("defer", events)
        self.assertEqual(events[-1], "deliver", events)
        defer = next(r for r in story if r["event"] == "defer")
        deliver = story[-1]
        self.assertEqual(defer["hop"], "up-a")
        self.assertTrue(defer["reply"].startswith("4"), defer)
        self.assertEqual(deliver["hop"], "up-b")
        self.assertTrue(deliver["reply"].startswith("250"), deliver)
        self.assertEqual(deliver["recipients"], story[0]["recipients"])
        self.assertTrue(story[0]["client"].startswith("127."), story[0])
        self.assertEqual(story[0]["helo"], "client.test")
        self.assertGreater(story[0]["size"], 0)
        self.assertIn("latency_ms", deliver)

        text = run_cli(["track", "--config", str(path), "--message-id", mid, "--by-message"])
        self.assertEqual(text.returncode, 0, text.stderr)
        print(f"\n[e2e] story:\n{text.stdout}")
        lines = text.stdout.splitlines()
        self.assertTrue(lines[0].startswith(f"message {qid} <{mid}> from <carol@example.com>"), lines[0])
        self.assertIn("received from", lines[1])
        self.assertIn("queued", lines[2])
        self.assertTrue(any("deferred" in ln and "at hop up-a" in ln for ln in lines), lines)
        self.assertIn("delivered", lines[-1])
        self.assertIn("at hop up-b", lines[-1])

        by_rcpt = run_cli(["track", "--config", str(path), "--recipient", deliver["recipients"][0],
                           "--event", "deliver"])
        self.assertEqual(by_rcpt.returncode, 0, by_rcpt.stderr)
        self.assertEqual(len(by_rcpt.stdout.splitlines()), 1, by_rcpt.stdout)

    def test_spooled_message_has_its_message_id_and_delivery_its_tls(self):
        cert = make_certificate(self.dir)
        sink = self.start_sink("tls", extra_args=["--tls-cert", str(cert), "--tls-key", str(self.dir / "sink-key.pem")])
        hops = [Hop("tls-hop", sink.port)]  # tls = "opportunistic": the sink offers STARTTLS
        cfg, path = self.make_config(hops, hops)
        self.start_relay(cfg, path)
        line = b"x" * 76 + b"\r\n"
        mid, msg = build_message(sender="carol@example.com", to=["big@elsewhere.example.org"], subject="big",
                                 body=line * 1500)  # 117 KiB: above inline_body_max, spooled
        self.assertGreater(len(msg), 64 * 1024)
        with smtp_connect(OUTBOUND_HOST, cfg.outbound_port) as s:
            smtp_transaction(s, "carol@example.com", ["big@elsewhere.example.org"], msg)
        tracking = cfg.state_dir / "tracking"
        deliver = wait_for(lambda: next((r for r in records(tracking) if r["event"] == "deliver"), None),
                           WAIT, "the delivery record")
        story = {r["event"]: r for r in records(tracking) if r["queue_id"] == deliver["queue_id"]}
        self.assertEqual(story["receive"].get("message_id"), mid.strip("<>"), story["receive"])
        self.assertEqual(story["queue"].get("message_id"), mid.strip("<>"), story["queue"])
        self.assertGreater(story["receive"]["size"], 64 * 1024)
        self.assertTrue(deliver.get("tls_protocol", "").startswith("TLSv1"), deliver)
        self.assertTrue(deliver.get("tls_cipher"), deliver)
        self.assertNotIn("tls_protocol", story["receive"])  # the client's session was plain text

    def test_refusal_is_tracked(self):
        cfg, relay, sink = self.relay_with_one_sink()
        tracking = cfg.state_dir / "tracking"
        # Relaying through the inbound listener to a foreign domain is refused.
        import smtplib
        with smtp_connect(cfg.inbound_bind, cfg.inbound_port) as s:
            s.mail("mallory@evil.example")
            code, _ = s.rcpt("victim@elsewhere.example.org")
            self.assertEqual(code, 550)
        rejects = wait_for(lambda: [r for r in records(tracking) if r["event"] == "reject"], WAIT, "reject record")
        self.assertEqual(rejects[0]["stage"], "rcpt")
        self.assertEqual(rejects[0]["recipients"], ["victim@elsewhere.example.org"])
        self.assertTrue(rejects[0]["reply"].startswith("550"), rejects[0])
        del smtplib

    def test_administrator_hold_release_delete_are_tracked(self):
        sink = self.start_sink("tempfail", modes=["tempfail"])  # the message stays queued
        cfg, path = self.make_config([Hop("hub", sink.port)], [Hop("smarthost", sink.port)])
        self.start_relay(cfg, path)
        tracking = cfg.state_dir / "tracking"
        with smtp_connect(OUTBOUND_HOST, cfg.outbound_port) as s:
            _, msg = build_message(sender="carol@example.com", to=["held@elsewhere.example.org"])
            smtp_transaction(s, "carol@example.com", ["held@elsewhere.example.org"], msg)
        qid = wait_for(lambda: [r["queue_id"] for r in records(tracking) if r["event"] == "queue"], WAIT,
                       "queue record")[0]
        for action in ("hold", "release", "delete"):
            done = run_cli(["queue", action, qid, "--config", str(path)])
            self.assertEqual(done.returncode, 0, done.stderr)
        found = run_cli(["track", "--config", str(path), "--queue-id", qid, "--json",
                         "--event", "hold,release,delete"])
        self.assertEqual(found.returncode, 0, found.stderr)
        admin = [json.loads(line) for line in found.stdout.splitlines()]
        self.assertEqual([r["event"] for r in admin], ["hold", "release", "delete"])
        self.assertTrue(all("uid=" in r["actor"] for r in admin), admin)


class TrackingDurabilityTest(E2ETestCase):
    def test_kill_9_under_load_leaves_every_completed_record_readable(self):
        cfg, relay, sink = self.relay_with_one_sink()
        stop = threading.Event()
        sent = []

        def load():
            try:
                with smtp_connect(OUTBOUND_HOST, cfg.outbound_port) as s:
                    for i in range(100000):
                        if stop.is_set():
                            return
                        _, msg = build_message(sender="carol@example.com", to=[f"k{i}@elsewhere.example.org"])
                        smtp_transaction(s, "carol@example.com", [f"k{i}@elsewhere.example.org"], msg)
                        sent.append(i)
            except Exception:  # the relay dies under it: expected
                return

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        wait_for(lambda: len(sent) >= 200, WAIT, "200 messages sent")
        relay.kill()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        lines = tracking_lines(cfg.state_dir / "tracking")
        self.assertGreater(len(lines), 400)
        cut = [i for i, line in enumerate(lines) if line is None]
        self.assertLessEqual(len(cut), 1, "more than one record cut")
        for line in lines:
            if line is not None:
                json.loads(line)  # every completed record parses
        print(f"\n[e2e] kill -9 after {len(sent)} messages: {len(lines)} records, {len(cut)} cut")


class TrackingFilesTest(E2ETestCase):
    def test_rotation_by_size_and_retention_at_start(self):
        state = self.dir / "state"
        tracking = state / "tracking"
        tracking.mkdir(parents=True)
        # A file 40 days old goes at start; today's full file makes the relay start the next.
        old = tracking / "tracking-20200101-000.jsonl"
        old.write_text('{"time":"2020-01-01T00:00:00.000Z","event":"queue","queue_id":"OLD"}\n')
        past = time.time() - 40 * 86400
        os.utime(old, (past, past))
        today = time.strftime("%Y%m%d", time.gmtime())
        full = tracking / f"tracking-{today}-000.jsonl"
        line = '{"time":"2020-01-02T00:00:00.000Z","event":"queue","queue_id":"FILLER"}\n'
        full.write_text(line * (1024 * 1024 // len(line) + 1))
        sink = self.start_sink("hub")
        cfg, path = self.make_config([Hop("hub", sink.port)], [Hop("smarthost", sink.port)],
                                     extra_sections='[tracking]\nretention = "30d"\nmax_file_size = "1MiB"')
        self.start_relay(cfg, path)
        with smtp_connect(OUTBOUND_HOST, cfg.outbound_port) as s:
            _, msg = build_message(sender="carol@example.com", to=["rot@elsewhere.example.org"])
            smtp_transaction(s, "carol@example.com", ["rot@elsewhere.example.org"], msg)
        nxt = tracking / f"tracking-{today}-001.jsonl"
        wait_for(lambda: nxt.exists() and "rot@elsewhere.example.org" in nxt.read_text(), WAIT,
                 "records in the next file")
        wait_for(lambda: not old.exists(), WAIT, "the 40-day-old file deleted")
        self.assertTrue(full.exists())


class TrackingSearchTest(unittest.TestCase):
    def test_search_over_20000_records(self):
        import tempfile
        directory = Path(tempfile.mkdtemp(prefix="hubrelay-e2e-tracking-"))
        try:
            sample = generate(directory, 20000)
            everything = records(directory)
            self.assertEqual(len(everything), 20000)

            def track(*args):
                began = time.monotonic()
                done = run_cli(["track", "--dir", str(directory), "--json", *args])
                self.assertEqual(done.returncode, 0, done.stderr)
                print(f"\n[e2e] track {' '.join(args)}: {(time.monotonic() - began) * 1000:.0f} ms")
                return [json.loads(line) for line in done.stdout.splitlines()]

            want = [r for r in everything if sample["recipient"] in r.get("recipients", [])]
            self.assertEqual(track("--recipient", sample["recipient"]), want)
            self.assertEqual(track("--recipient", sample["recipient"]), want)  # with the index built
            self.assertTrue(list(directory.glob("*.idx")))
            qids = {r["queue_id"] for r in everything if r.get("message_id") == sample["message_id"]}
            want = [r for r in everything if r["queue_id"] in qids]
            self.assertEqual(track("--message-id", sample["message_id"]), want)
            domain = sample["domain"]
            want = [r for r in everything if any(a.endswith("@" + domain) for a in r.get("recipients", []))]
            self.assertEqual(len(track("--recipient", domain)), len(want))
            self.assertEqual(len(track("--queue-id", sample["queue_id"])),
                             sum(r["queue_id"] == sample["queue_id"] for r in everything))
            want = [r for r in everything if r["event"] == "defer"]
            self.assertEqual(len(track("--event", "defer")), len(want))
        finally:
            import shutil
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()

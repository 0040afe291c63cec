#!/usr/bin/python3
"""tests/e2e/test_harness.py — the harness tested on its own, without hubrelay.

Owns: proof that the instruments are right before they judge the relay: the sink
stores DATA byte-exact (dot-unstuffed, CRLF-only line ends, 8-bit clean), applies its
failure modes, writes atomically; the generated config is valid TOML with the shape
the contract asks for; the Received-prefix check accepts exactly one prepended
(folded) header and rejects everything else.
Never: starts hubrelay.
"""

import smtplib
import sys
import time
import tomllib
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (CRLF, E2ETestCase, Hop, RawSmtp, Relay, RelayConfig,  # noqa: E402
                     build_message, free_port, message_id_of, received_prefix, stuff,
                     unstuff, wait_for, with_message_id)
from sink import InProcessSink, SinkModes  # noqa: E402


class SinkTest(E2ETestCase):
    def test_subprocess_sink_stores_dot_unstuffed_bytes_exactly(self):
        sink = self.start_sink("a")
        body = (b".leading dot\r\n..two dots\r\n.\r\nbare\nLF and bare\rCR\r\n"
                b"\xc3\xa9t\xe9 8-bit\r\n")
        mid, msg = build_message(body=body)
        with RawSmtp("127.0.0.1", sink.port) as c:
            self.assertEqual(c.reply().code, 220)
            self.assertEqual(c.command("EHLO client.test").code, 250)
            self.assert_transaction_open(c, "a@example.net", ["b@example.com"], " BODY=8BITMIME")
            self.assert_data_accepted(c, msg)
            self.assertEqual(c.command("QUIT").code, 221)
        got = with_message_id(sink.messages(), mid)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].raw, msg)
        self.assertEqual(got[0].rcpt_tos, ["b@example.com"])
        self.assertEqual(got[0].mail_from, "a@example.net")

    def test_bare_lf_dot_does_not_end_data_at_the_sink(self):
        sink = self.start_sink("a")
        mid, msg = build_message(body=b"x\n.\nMAIL FROM:<evil@example.net>\r\ny\r\n")
        with RawSmtp("127.0.0.1", sink.port) as c:
            c.reply()
            c.command("EHLO client.test")
            c.command("MAIL FROM:<a@example.net>")
            c.command("RCPT TO:<b@example.com>")
            self.assertEqual(c.command("DATA").code, 354)
            c.send(stuff(msg) + b".\r\nQUIT\r\n")
            self.assertEqual([r.code for r in c.replies_until_close()], [250, 221])
        self.assertEqual([m.raw for m in sink.messages()], [msg])

    def test_failure_modes(self):
        cases = [
            # modes, rcpts, want RCPT codes, want DATA code (None: DATA not reached)
            (["tempfail"], ["x@example.com"], [250], 451),
            (["permfail"], ["x@example.com"], [250], 554),
            (["tempfail-rcpt=X@example.com"], ["x@example.com", "y@example.com"], [451, 250], 250),
            (["permfail-rcpt=y@example.com,accept"], ["x@example.com", "y@example.com"],
             [250, 550], 250),
        ]
        for i, (modes, rcpts, want_rcpt, want_data) in enumerate(cases):
            with self.subTest(modes=modes):
                sink = self.start_sink(f"m{i}", modes=modes)
                with RawSmtp("127.0.0.1", sink.port) as c:
                    c.reply()
                    c.command("EHLO client.test")
                    c.command("MAIL FROM:<a@example.net>")
                    got_rcpt = [c.command(f"RCPT TO:<{r}>").code for r in rcpts]
                    self.assertEqual(got_rcpt, want_rcpt)
                    self.assertEqual(c.command("DATA").code, 354)
                    c.send(build_message()[1] + b".\r\n")
                    self.assertEqual(c.reply().code, want_data)
                stored = sink.messages()
                self.assertEqual(len(stored), 1 if want_data == 250 else 0)

    def test_tempfail_first_then_accept(self):
        sink = self.start_sink("t", modes=["tempfail-first=2"])
        codes = []
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as s:
            s.ehlo("client.test")
            for _ in range(3):
                s.mail("a@example.net")
                s.rcpt("b@example.com")
                codes.append(s.data(build_message()[1])[0])
        self.assertEqual(codes, [451, 451, 250])
        self.assertEqual(len(sink.messages()), 1)

    def test_bad_mode_is_rejected(self):
        with self.assertRaises(ValueError):
            SinkModes.parse(["explode"])

    def test_in_process_sink(self):
        port = free_port()
        with InProcessSink(self.dir / "inproc", port=port) as sink:
            mid, msg = build_message(body=b"in process\r\n")
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                s.sendmail("a@example.net", ["b@example.com"], msg)
            got = wait_for(lambda: with_message_id(sink.messages(), mid), 5, "in-process message")
            self.assertEqual(got[0].raw, msg)

    def test_killed_sink_leaves_only_complete_files(self):
        sink = self.start_sink("k")
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as s:
            s.sendmail("a@example.net", ["b@example.com"], build_message()[1])
        sink.kill()
        names = sorted(p.name for p in sink.out_dir.iterdir())
        self.assertEqual(len(names), 2, names)
        self.assertTrue(all(not n.startswith(".") for n in names), names)


class RelayWrapperTest(E2ETestCase):
    """Relay's start-up failure paths, with stand-in binaries instead of hubrelay."""

    def fake(self, script: str) -> str:
        path = self.dir / "fake-hubrelay"
        path.write_text("#!/bin/sh\n" + script + "\n")
        path.chmod(0o755)
        return str(path)

    def test_early_exit_is_reported_with_its_log(self):
        relay = Relay(self.dir / "none.toml", self.dir / "relay.log", [("127.0.0.1", free_port())],
                      binary=self.fake("echo 'cannot bind' >&2; exit 1"))
        with self.assertRaisesRegex(RuntimeError, r"(?s)status 1.*cannot bind"):
            relay.start(ready_timeout=10)

    def test_silent_binary_times_out_and_is_killed(self):
        relay = Relay(self.dir / "none.toml", self.dir / "relay.log", [("127.0.0.1", free_port())],
                      binary=self.fake("exec sleep 60"))
        with self.assertRaisesRegex(RuntimeError, "not accepting"):
            relay.start(ready_timeout=1)
        self.assertFalse(relay.running())

    def test_sigterm_exit_status_is_recorded(self):
        relay = Relay(self.dir / "none.toml", self.dir / "relay.log", [],
                      binary=self.fake("trap 'exit 0' TERM; while :; do sleep 0.1; done"))
        relay.start()
        wait_for(lambda: relay.log_path.exists(), 5, "log file")
        time.sleep(0.3)  # let the shell install its trap
        self.assertEqual(relay.stop(term_wait=5), 0)
        self.assertFalse(relay.needed_sigkill)


class ConfigRenderTest(unittest.TestCase):
    def test_rendered_config_is_toml_with_both_listeners_and_routes(self):
        cfg = RelayConfig(state_dir=Path("/tmp/x"), inbound_port=2525, outbound_port=2526,
                          inbound_hops=[Hop("hub", 2601)],
                          outbound_hops=[Hop("a", 2602), Hop("b", 2603, weight=2)])
        doc = tomllib.loads(cfg.render())
        self.assertEqual(doc["relay"]["hostname"], "relay.test")
        self.assertEqual(doc["relay"]["accepted_domains"], ["example.com"])
        self.assertEqual(doc["queue"]["retry_schedule"], ["1s", "2s"])
        self.assertEqual(doc["delivery"]["hop_backoff"], "2s")
        self.assertEqual(doc["delivery"]["connect_timeout"], "2s")
        self.assertEqual([(l["name"], l["bind"]) for l in doc["listener"]],
                         [("inbound", ["127.0.0.1:2525"]), ("outbound", ["127.0.0.2:2526"])])
        self.assertEqual(doc["policy"]["inbound"]["trusted_networks"], [])
        self.assertEqual(doc["policy"]["outbound"],
                         {"trusted_networks": ["127.0.0.0/8"], "require_trusted": True})
        self.assertEqual(sorted(doc["hop"]), ["a", "b", "hub"])
        self.assertEqual([(r["direction"], [h["hop"] for h in r["hops"]]) for r in doc["route"]],
                         [("inbound", ["hub"]), ("outbound", ["a", "b"])])
        self.assertEqual(doc["route"][1]["hops"][1]["weight"], 2)

    def test_same_hop_name_in_both_directions_is_declared_once(self):
        cfg = RelayConfig(state_dir=Path("/tmp/x"), inbound_port=1, outbound_port=2,
                          inbound_hops=[Hop("hub", 9)], outbound_hops=[Hop("hub", 9)])
        self.assertEqual(list(tomllib.loads(cfg.render())["hop"]), ["hub"])


class MessageHelpersTest(unittest.TestCase):
    def test_received_prefix(self):
        sent = build_message()[1]
        cases = [
            ("one line", b"Received: from a by relay.test; now\r\n" + sent, True),
            ("folded", b"Received: from a (b [127.0.0.1])\r\n\tby relay.test\r\n  ; now\r\n"
             + sent, True),
            ("nothing prepended", sent, False),
            ("two headers", b"Received: from a\r\nX-Other: 1\r\n" + sent, False),
            ("other header", b"X-Received: from a\r\n" + sent, False),
            ("body changed", b"Received: from a\r\n" + sent[:-3] + b"X\r\n", False),
            ("bare LF in header", b"Received: from a\n by b\r\n" + sent, False),
        ]
        for name, delivered, ok in cases:
            with self.subTest(name):
                header, why = received_prefix(sent, delivered)
                self.assertEqual(header is not None, ok, why)

    def test_message_ids_are_unique_and_found(self):
        a, ma = build_message()
        b, mb = build_message()
        self.assertNotEqual(a, b)
        self.assertEqual(message_id_of(b"Received: from x\r\n\tby y\r\n" + ma), a)
        self.assertEqual(message_id_of(mb), b)

    def test_stuff(self):
        self.assertEqual(stuff(b".a\r\n.\r\nb.\r\n..\r\n"), b"..a\r\n..\r\nb.\r\n...\r\n")
        self.assertEqual(stuff(b"x\n.\n"), b"x\n.\n")  # only CRLF delimits lines
        self.assertTrue(build_message()[1].endswith(CRLF))
        for data in [b".a\r\n.\r\nb\r\n", b"x\r\n..\r\n", b"\r\n.\n.\r\n"]:
            self.assertEqual(unstuff(stuff(data)), data)


if __name__ == "__main__":
    unittest.main(verbosity=2)

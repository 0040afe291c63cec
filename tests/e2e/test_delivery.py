#!/usr/bin/python3
"""tests/e2e/test_delivery.py — messages go in, the same bytes come out at the next hop.

Owns: the end-to-end transparency contract: a message submitted on either listener
arrives at the route's hop as the sent bytes with exactly one Received: header
prepended (possibly folded), CRLF line endings, nothing else changed — including
dot-stuffed lines, 8-bit bodies, a 1 MiB message and a 50-recipient envelope — and a
second independent client (swaks) gets the same treatment.
Never: asserts timing; every wait is bounded (wait_for).
Standards: RFC 5321 §4.4 (trace header), §4.5.2 (transparency), RFC 6152 (8BITMIME).
"""

import re
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (CRLF, INBOUND_HOST, OUTBOUND_HOST, E2ETestCase, build_message,  # noqa: E402
                     send_mail, smtp_connect, smtp_transaction, wait_for, with_message_id)

QUEUED = re.compile(r"^2\.0\.0 Ok: queued as \S+")


class DeliveryTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.cfg, self.relay, self.sink = self.relay_with_one_sink()

    def send_and_check(self, host, port, sender, rcpts, msg, mid, mail_options=()):
        reply = send_mail(host, port, sender, rcpts, msg, mail_options)
        self.assertRegex(reply, QUEUED)
        got = self.wait_for_message(self.sink, mid)
        self.assert_received_prepended(msg, got.raw)
        self.assertEqual(got.mail_from, sender)
        self.assertEqual(sorted(got.rcpt_tos), sorted(rcpts))
        return got

    def test_inbound_accepted_domain_arrives_byte_exact(self):
        mid, msg = build_message(sender="alice@example.net", to=["bob@example.com"],
                                 body=b"Inbound hello.\r\n\r\n-- \r\nAlice\r\n")
        self.send_and_check(INBOUND_HOST, self.cfg.inbound_port, "alice@example.net",
                            ["bob@example.com"], msg, mid)

    def test_outbound_external_recipient_arrives_byte_exact(self):
        mid, msg = build_message(sender="carol@example.com", to=["dave@elsewhere.example.org"],
                                 body=b"Outbound hello.\r\n")
        self.send_and_check(OUTBOUND_HOST, self.cfg.outbound_port, "carol@example.com",
                            ["dave@elsewhere.example.org"], msg, mid)

    def test_dot_stuffed_lines_survive(self):
        body = CRLF.join([b".leading dot", b".", b"..", b"...", b". space after dot",
                          b"middle . dot", b".", b"last line"]) + CRLF
        mid, msg = build_message(body=body, extra_headers=[b"X-Dots: .header dot"])
        self.send_and_check(INBOUND_HOST, self.cfg.inbound_port, "alice@example.net",
                            ["bob@example.com"], msg, mid)

    def test_8bit_body_survives(self):
        body = ("UTF-8: Grüße, 日本語, emoji \U0001F600\r\n".encode("utf-8")
                + "Latin-1: café, naïve, £\r\n".encode("latin-1")
                + bytes(range(0x80, 0x100)).replace(b"\r", b"").replace(b"\n", b"") + CRLF)
        mid, msg = build_message(body=body,
                                 extra_headers=[b"Content-Type: text/plain; charset=utf-8",
                                                b"Content-Transfer-Encoding: 8bit"])
        got = self.send_and_check(INBOUND_HOST, self.cfg.inbound_port, "alice@example.net",
                                  ["bob@example.com"], msg, mid, mail_options=["BODY=8BITMIME"])
        # RFC 6152 §3: a relay forwarding 8-bit data to a host that offers 8BITMIME
        # (the sink does) must say BODY=8BITMIME.
        self.assertIn("BODY=8BITMIME", [o.upper() for o in got.meta["mail_options"]],
                      f"relay did not pass BODY=8BITMIME on; MAIL options at sink: "
                      f"{got.meta['mail_options']}")

    def test_one_mebibyte_message_survives(self):
        line = (b"0123456789" * 8)[:78]
        lines, size, i = [], 0, 0
        while size < 1024 * 1024:
            row = b"%06d " % i + line[7:]
            lines.append(row)
            size += len(row) + 2
            i += 1
        mid, msg = build_message(body=CRLF.join(lines) + CRLF)
        self.send_and_check(INBOUND_HOST, self.cfg.inbound_port, "alice@example.net",
                            ["bob@example.com"], msg, mid)

    def test_fifty_recipients_each_delivered_once(self):
        rcpts = [f"user{n:02d}@example.com" for n in range(1, 51)]
        mid, msg = build_message(to=rcpts[:3], body=b"To many.\r\n")
        reply = send_mail(INBOUND_HOST, self.cfg.inbound_port, "alice@example.net", rcpts, msg)
        self.assertRegex(reply, QUEUED)

        def all_arrived():
            got = with_message_id(self.sink.messages(), mid)
            n = sum(len(m.rcpt_tos) for m in got)
            return got if n >= len(rcpts) else None

        got = wait_for(all_arrived, 30, "50 recipients delivered")
        delivered = [r for m in got for r in m.rcpt_tos]
        self.assertEqual(sorted(delivered), rcpts, "each recipient exactly once")
        for m in got:
            self.assert_received_prepended(msg, m.raw)
        print(f"[e2e] 50 recipients arrived in {len(got)} transaction(s)", file=sys.stderr)

    def test_several_messages_on_one_session(self):
        sent = []
        with smtp_connect(INBOUND_HOST, self.cfg.inbound_port) as s:
            for n in range(5):
                mid, msg = build_message(subject=f"session {n}", body=b"n=%d\r\n" % n)
                smtp_transaction(s, "alice@example.net", ["bob@example.com"], msg)
                sent.append((mid, msg))
        for mid, msg in sent:
            self.assert_received_prepended(msg, self.wait_for_message(self.sink, mid).raw)

    def test_swaks_delivers(self):
        mid = "<swaks-%s@e2e.test>" % self.dir.name.rsplit("-", 1)[-1]
        proc = subprocess.run(
            ["swaks", "--server", f"{INBOUND_HOST}:{self.cfg.inbound_port}",
             "--to", "bob@example.com", "--from", "alice@example.net",
             "--helo", "client.test", "--header", f"Message-Id: {mid}",
             "--body", "swaks line one\n.swaks dot line\nswaks line three",
             "--timeout", "20"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, 0, f"swaks failed:\n{proc.stdout}\n{proc.stderr}")
        sent = self.swaks_data(proc.stdout)
        got = self.wait_for_message(self.sink, mid)
        self.assert_received_prepended(sent, got.raw)
        self.assertIn(b"\r\n.swaks dot line\r\n", got.raw)

    @staticmethod
    def swaks_data(transcript: str) -> bytes:
        """The message swaks sent, rebuilt from its transcript (" -> " lines between the
        354 and the lone "."), un-stuffed."""
        lines, inside = [], False
        for row in transcript.splitlines():
            if row.startswith("<-") and row[2:].strip().startswith("354"):
                inside = True
                continue
            if inside and row.startswith(" -> "):
                text = row[4:]
                if text == ".":
                    break
                lines.append(text[1:] if text.startswith(".") else text)
        return "".join(l + "\r\n" for l in lines).encode()


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""tests/e2e/test_policy.py — who may relay through which listener.

Owns: the "no open relay, ever" contract seen from a real client: the inbound
listener (no trusted networks) takes recipients in accepted domains only and answers
550 5.7.1 to everything else, including classic relay tricks; the outbound listener
relays anywhere for trusted clients and refuses untrusted ones outright
(require_trusted). On loopback every client is 127.0.0.0/8, so the untrusted case
uses a relay whose outbound policy trusts only 127.0.0.2/32 and a client bound to
source address 127.0.0.3.
Never: asserts timing. Standards: RFC 5321 §3.6.2/§7.1 (relaying), RFC 3463 (5.7.1).
"""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (INBOUND_HOST, OUTBOUND_HOST, E2ETestCase, Hop, RawSmtp,  # noqa: E402
                     build_message, send_mail, settle, wait_for, with_message_id)


WAIT = 20.0


def open_session(host, port, source=None):
    c = RawSmtp(host, port, source=source)
    banner = c.reply()
    return c, banner


class InboundPolicyTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.cfg, self.relay, self.sink = self.relay_with_one_sink()

    def open_envelope(self, rcpt):
        """A session up to RCPT TO:<rcpt> after EHLO client.test and MAIL FROM:<alice@example.net>."""
        c, _ = open_session(INBOUND_HOST, self.cfg.inbound_port)
        c.command("EHLO client.test")
        c.command("MAIL FROM:<alice@example.net>")
        return c, c.command(f"RCPT TO:<{rcpt}>")

    def test_relaying_to_other_domains_is_refused_with_550_5_7_1(self):
        refused = ["someone@example.org", "x@notexample.com", "x@example.com.evil.example",
                   "x@sub.example.com"]
        mid, msg = build_message(to=["bob@example.com"])
        c, banner = open_session(INBOUND_HOST, self.cfg.inbound_port)
        with c:
            self.assertEqual(banner.code, 220, banner.text)
            self.assertEqual(c.command("EHLO client.test").code, 250)
            self.assertEqual(c.command("MAIL FROM:<alice@example.net>").code, 250)
            for rcpt in refused:
                with self.subTest(rcpt=rcpt):
                    r = c.command(f"RCPT TO:<{rcpt}>")
                    self.assertEqual((r.code, r.enhanced), (550, "5.7.1"),
                                     f"RCPT TO:<{rcpt}> on inbound: want 550 5.7.1, got {r.text}")
            # The session and the transaction go on: an accepted recipient still works.
            r = c.command("RCPT TO:<bob@example.com>")
            self.assertEqual(r.code, 250, r.text)
            self.assert_data_accepted(c, msg)
            self.assertEqual(c.command("QUIT").code, 221)
        got = self.wait_for_message(self.sink, mid)
        self.assertEqual(got.rcpt_tos, ["bob@example.com"])
        self.assert_received_prepended(msg, got.raw)

    def test_relay_denied_log_line_names_both_addresses(self):
        # The administrator greps the log for a refused address and finds the whole story:
        # listener, client, HELO, sender, recipient, reply and reason on one line.
        c, r = self.open_envelope("victim@elsewhere.example")
        with c:
            self.assertEqual((r.code, r.enhanced), (550, "5.7.1"), r.text)
            c.command("QUIT")

        def refusal_line():
            lines = [line for line in self.relay.log_text().splitlines()
                     if "reason=relay_denied" in line]
            return lines[0] if lines else None
        line = wait_for(refusal_line, WAIT, "the relay_denied log line")
        for part in ("listener=inbound", "client=127.0.0.1", "stage=rcpt", "decision=reject",
                     "code=550", "status=5.7.1", "helo=client.test", "from=<alice@example.net>",
                     "to=<victim@elsewhere.example>"):
            self.assertIn(part, line)

    def test_source_routed_relay_attempt_is_not_accepted(self):
        # RFC 5321 §4.1.1.3 / Appendix C: the route must be ignored and the mailbox judged.
        c, banner = open_session(INBOUND_HOST, self.cfg.inbound_port)
        with c:
            c.command("EHLO client.test")
            c.command("MAIL FROM:<alice@example.net>")
            r = c.command("RCPT TO:<@example.com:victim@evil.example>")
            self.assertGreaterEqual(r.code, 500,
                                    f"source-routed external recipient accepted: {r.text}")

    def test_accepted_domain_is_case_insensitive(self):
        mid, msg = build_message(to=["Bob@EXAMPLE.COM"])
        send_mail(INBOUND_HOST, self.cfg.inbound_port, "alice@example.net",
                  ["Bob@EXAMPLE.COM"], msg)
        self.assert_received_prepended(msg, self.wait_for_message(self.sink, mid).raw)

    def test_refused_recipient_never_reaches_the_hop(self):
        mid, msg = build_message(to=["x@example.org"])
        c, r = self.open_envelope("x@example.org")
        with c:
            self.assertEqual(r.code, 550)
            r = c.command("DATA")
            # RFC 5321 §3.3: 503 (bad sequence) or 554 (no valid recipients).
            self.assertIn(r.code, (503, 554), f"DATA without any accepted recipient: {r.text}")
        settle(2.0)
        self.assertEqual(with_message_id(self.sink.messages(), mid), [])


class OutboundPolicyTest(E2ETestCase):
    def test_trusted_client_relays_external_recipients(self):
        cfg, relay, sink = self.relay_with_one_sink()
        mid, msg = build_message(sender="carol@example.com", to=["x@elsewhere.example.org"])
        send_mail(OUTBOUND_HOST, cfg.outbound_port, "carol@example.com",
                  ["x@elsewhere.example.org"], msg, source="127.0.0.1")
        got = self.wait_for_message(sink, mid)
        self.assertEqual(got.rcpt_tos, ["x@elsewhere.example.org"])
        self.assert_received_prepended(msg, got.raw)

    def test_untrusted_client_is_refused_on_outbound(self):
        sink = self.start_sink("hub")
        cfg, path = self.make_config([Hop("hub", sink.port)], [Hop("smarthost", sink.port)],
                                     outbound_trusted=["127.0.0.2/32"])
        self.start_relay(cfg, path)

        for rcpt in ["x@elsewhere.example.org", "bob@example.com"]:
            with self.subTest(rcpt=rcpt):
                self.assert_refused_from("127.0.0.3", cfg.outbound_port, rcpt)

        # Positive control on the same relay: the trusted address still relays.
        mid, msg = build_message(sender="carol@example.com", to=["x@elsewhere.example.org"])
        send_mail(OUTBOUND_HOST, cfg.outbound_port, "carol@example.com",
                  ["x@elsewhere.example.org"], msg, source="127.0.0.2")
        self.assert_received_prepended(msg, self.wait_for_message(sink, mid).raw)
        settle(1.0)
        self.assertEqual(len(sink.messages()), 1, "only the trusted client's message arrives")

    def assert_refused_from(self, source, port, rcpt):
        """The untrusted client must be stopped with a permanent 5xx at the banner, MAIL
        or RCPT — and never get to DATA."""
        c, banner = open_session(OUTBOUND_HOST, port, source=source)
        with c:
            if banner is None:
                self.fail("outbound listener closed the untrusted connection without a reply")
            if banner.code != 220:
                self.assertEqual(banner.code // 100, 5, f"banner to untrusted: {banner.text}")
                return
            self.assertEqual(c.command("EHLO client.test").code, 250)
            r = c.command("MAIL FROM:<mallory@example.net>")
            if r.code != 250:
                self.assertEqual(r.code // 100, 5, f"MAIL from untrusted: {r.text}")
                self.assertTrue((r.enhanced or "").startswith("5.7."),
                                f"MAIL from untrusted: want enhanced 5.7.x, got {r.text}")
                return
            r = c.command(f"RCPT TO:<{rcpt}>")
            self.assertEqual(r.code // 100, 5,
                             f"untrusted {source} on outbound, RCPT TO:<{rcpt}>: want 5xx, "
                             f"got {r.text}")
            self.assertTrue((r.enhanced or "").startswith("5.7."),
                            f"RCPT from untrusted: want enhanced 5.7.x, got {r.text}")
            r = c.command("DATA")
            self.assertNotEqual(r.code, 354, "untrusted client reached DATA")


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""tests/e2e/test_verification.py — DNSBL checks and recipient verification.

Owns: the end-to-end proof of docs/policy.md "## DNSBL" and "## Recipient verification":
  * DNSBL through a DNS server the test starts on a random loopback port ([dns] servers
    points at it): a client from a listed 127.0.0.x address is refused at RCPT with
    554 5.7.1 naming the zone, an unlisted one is served, a client listed in a "tag"
    zone gets X-Hubrelay-DNSBL right after Received: (checked byte for byte at the sink),
    the result cache spares the second lookup, a SERVFAIL fails open, and with
    dnsbl_check = "connect" a listed client gets 554 instead of the banner.
  * Recipient callout to an aiosmtpd sink that accepts one address and refuses another
    (550): the first RCPT makes a callout the sink sees (MAIL FROM:<>, no DATA); the same
    RCPT again within the TTL does not (sink count, log line cache=hit, /metrics
    hubrelay_callout_total); two sessions asking at once share one callout (coalesced).
    A dead hop gives 451 4.4.3 (callout_on_failure = "defer").
  * Static valid_recipients / valid_recipients_file: listed and catch-all accepted,
    others 550 5.1.1.
Clients use source addresses 127.0.0.2-127.0.0.9 (loopback /8); the inbound policy
trusts nobody, so every one of them is checked.
Never: asserts timing. Standards: RFC 5782 (DNSBL), RFC 5321 §3.5, RFC 3463.
"""

import sys
import threading
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dns_server import DnsServer  # noqa: E402
from harness import (INBOUND_HOST, OUTBOUND_HOST, E2ETestCase, Hop, RawSmtp, RelayConfig,  # noqa: E402
                     build_message, fetch_metrics, free_port, wait_for)
from sink import InProcessSink  # noqa: E402

LISTED = "127.0.0.2"     # in bl.test (reject)
TAGGED = "127.0.0.3"     # in tag.test (tag)
CLEAN = "127.0.0.4"      # in neither
BROKEN = "127.0.0.5"     # bl.test answers SERVFAIL for it
SILENT = "127.0.0.6"     # bl.test never answers for it (a timeout)


def rev(ip, zone):
    return ".".join(reversed(ip.split("."))) + "." + zone


class DnsblTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.dns = DnsServer({
            rev(LISTED, "bl.test"): {"A": ["127.0.0.2"], "TXT": ["listed for testing"]},
            rev(TAGGED, "tag.test"): {"A": ["127.0.0.2"]},
            rev(LISTED, "tag.test"): {"A": ["127.0.0.2"]},  # also tagged: reject must win
        }, ttl=300, servfail=(rev(BROKEN, "bl.test"),), silent=(rev(SILENT, "bl.test"),)).start()
        self.addCleanup(self.dns.stop)

    def start(self, check="rcpt"):
        sink = self.start_sink("hub")
        cfg, path = self.make_config(
            [Hop("hub", sink.port)], [Hop("smarthost", sink.port)],
            inbound_policy_extra=[
                'dnsbl = [{ zone = "bl.test", action = "reject" },',
                '         { zone = "tag.test", action = "tag", match = ["127.0.0.2"] }]',
                f'dnsbl_check = "{check}"',
                'dnsbl_timeout = "1s"',
            ],
            extra_sections=f'[dns]\nservers = ["127.0.0.1:{self.dns.port}"]')
        relay = self.start_relay(cfg, path)
        return cfg, relay, sink

    def session(self, cfg, source):
        c = RawSmtp(INBOUND_HOST, cfg.inbound_port, source=source)
        return c, c.reply()

    def send(self, cfg, source, rcpt="bob@example.com"):
        mid, msg = build_message(to=[rcpt])
        c, banner = self.session(cfg, source)
        with c:
            self.assertEqual(banner.code, 220, banner.text)
            self.assertEqual(c.command("EHLO client.test").code, 250)
            self.assertEqual(c.command("MAIL FROM:<alice@example.net>").code, 250)
            r = c.command(f"RCPT TO:<{rcpt}>")
            if r.code != 250:
                c.command("QUIT")
                return r, None, None
            self.assert_data_accepted(c, msg)
            c.command("QUIT")
        return r, mid, msg

    def test_listed_client_refused_at_rcpt_and_cached(self):
        cfg, relay, _sink = self.start()
        for attempt in range(2):
            r, _, _ = self.send(cfg, LISTED)
            self.assertEqual((r.code, r.enhanced), (554, "5.7.1"), r.text)
            # The zone's TXT record says why (RFC 5782 §2.1), as in Postfix's reply.
            self.assertIn(f"client [{LISTED}] blocked using bl.test; listed for testing", r.text)
        # Two sessions, one lookup: the second answer came from the cache, reason included.
        self.assertEqual(self.dns.count(rev(LISTED, "bl.test"), "A"), 1)
        self.assertEqual(self.dns.count(rev(LISTED, "bl.test"), "TXT"), 1)
        log = relay.log_text()
        self.assertRegex(log, r"client=127\.0\.0\.2 dnsbl zone=bl\.test result=listed code=127\.0\.0\.2 cache=hit")
        self.assertRegex(log, r"listener=inbound client=127\.0\.0\.2 check=dnsbl outcome=listed zone=bl\.test")
        self.assertRegex(log, r"listener=inbound client=127\.0\.0\.2 stage=rcpt decision=reject reason=dnsbl_listed")

    def test_clean_client_served_without_header(self):
        cfg, _relay, sink = self.start()
        r, mid, msg = self.send(cfg, CLEAN)
        self.assertEqual(r.code, 250, r.text)
        got = self.wait_for_message(sink, mid)
        self.assertNotIn(b"X-Hubrelay-DNSBL", got.raw)
        self.assert_received_prepended(msg, got.raw)
        self.assertEqual(self.dns.count(rev(CLEAN, "bl.test"), "A"), 1)
        self.assertEqual(self.dns.count(rev(CLEAN, "tag.test"), "A"), 1)

    def test_tagged_client_gets_header_after_received(self):
        cfg, _relay, sink = self.start()
        r, mid, msg = self.send(cfg, TAGGED)
        self.assertEqual(r.code, 250, r.text)
        raw = self.wait_for_message(sink, mid).raw
        tag = b"X-Hubrelay-DNSBL: tag.test=127.0.0.2\r\n"
        at = raw.find(tag)
        self.assertGreater(at, 0, raw[:400])
        # Byte for byte: our Received: (one header, maybe folded), the tag, the message.
        self.assertEqual(raw[at:], tag + msg)
        received = raw[:at]
        self.assertTrue(received.startswith(b"Received: "), received)
        for line in received.split(b"\r\n")[1:-1]:
            self.assertTrue(line[:1] in (b" ", b"\t"), f"not one header: {received!r}")

    def test_dns_failure_fails_open(self):
        cfg, relay, sink = self.start()
        r, mid, _ = self.send(cfg, BROKEN)
        self.assertEqual(r.code, 250, r.text)
        self.wait_for_message(sink, mid)
        self.assertIn("dnsbl zone=bl.test lookup failed, not listed (fail open)", relay.log_text())

    def test_dns_timeout_fails_open(self):
        cfg, relay, sink = self.start()
        r, mid, _ = self.send(cfg, SILENT)
        self.assertEqual(r.code, 250, r.text)
        self.wait_for_message(sink, mid)
        self.assertGreaterEqual(self.dns.count(rev(SILENT, "bl.test"), "A"), 1)
        self.assertRegex(relay.log_text(), r"client=127\.0\.0\.6 dnsbl zone=bl\.test lookup failed, not listed")

    def test_connect_time_check_refuses_banner(self):
        cfg, _relay, _sink = self.start(check="connect")
        c, banner = self.session(cfg, LISTED)
        with c:
            self.assertEqual((banner.code, banner.enhanced), (554, "5.7.1"), banner.text)
            self.assertIn("blocked using bl.test; listed for testing", banner.text)
            self.assertIsNone(c.reply(), "connection should be closed after the 554")
        c, banner = self.session(cfg, CLEAN)
        with c:
            self.assertEqual(banner.code, 220, banner.text)


class CalloutTest(E2ETestCase):
    def start(self, hop_port=None, timeout="5s", modes=()):
        self.sink = None
        if hop_port is None:
            port = free_port("127.0.0.1")
            self.sink = InProcessSink(self.dir / "hub", port=port,
                                      modes=["permfail-rcpt=nobody@example.com", *modes]).start()
            self.addCleanup(self.sink.stop)
            hop_port = port
        self.admin_port = free_port("127.0.0.1")
        cfg, path = self.make_config(
            [Hop("hub", hop_port)], [Hop("smarthost", hop_port)],
            inbound_policy_extra=["recipient_callout = true", f'callout_timeout = "{timeout}"',
                                  'callout_positive_ttl = "1h"', 'callout_negative_ttl = "10m"'],
            extra_toml=f'[admin]\nlisten = "127.0.0.1:{self.admin_port}"')
        relay = self.start_relay(cfg, path)
        return cfg, relay

    def callouts(self, address):
        # aiosmtpd reports the null reverse-path as "<>".
        return sum(1 for sender, rcpt in self.sink.handler.rcpt_log
                   if sender in ("", "<>") and rcpt.lower() == address)

    def metrics(self):
        return fetch_metrics(self.admin_port)

    def rcpts(self, cfg, source, addresses):
        c = RawSmtp(INBOUND_HOST, cfg.inbound_port, source=source)
        with c:
            self.assertEqual(c.reply().code, 220)
            c.command("EHLO client.test")
            self.assertEqual(c.command("MAIL FROM:<alice@example.net>").code, 250)
            replies = [c.command(f"RCPT TO:<{a}>") for a in addresses]
            c.command("QUIT")
        return replies

    def test_callout_accepts_refuses_and_caches(self):
        cfg, relay = self.start()
        first = self.rcpts(cfg, "127.0.0.6", ["bob@example.com", "nobody@example.com"])
        self.assertEqual(first[0].code, 250, first[0].text)
        self.assertEqual((first[1].code, first[1].enhanced), (550, "5.1.1"), first[1].text)
        self.assertEqual(self.callouts("bob@example.com"), 1)
        self.assertEqual(self.callouts("nobody@example.com"), 1)
        # Within the TTLs: same answers, no new callout (positive and negative cache).
        second = self.rcpts(cfg, "127.0.0.7", ["Bob@Example.com", "nobody@example.com"])
        self.assertEqual(second[0].code, 250, second[0].text)
        self.assertEqual(second[1].code, 550, second[1].text)
        self.assertEqual(self.callouts("bob@example.com"), 1)
        self.assertEqual(self.callouts("nobody@example.com"), 1)
        log = relay.log_text()
        self.assertIn("callout rcpt=<bob@example.com> result=valid cache=miss", log)
        self.assertIn("callout rcpt=<bob@example.com> result=valid cache=hit", log)
        self.assertIn("callout rcpt=<nobody@example.com> result=unknown cache=hit", log)
        m = self.metrics()
        base = 'listener="inbound",direction="inbound"'
        got = {k: v for k, v in m.items() if k.startswith("hubrelay_callout_total")}
        self.assertEqual(got.get(f'hubrelay_callout_total{{{base},result="valid",cache="miss"}}'), 1, got)
        self.assertEqual(got.get(f'hubrelay_callout_total{{{base},result="valid",cache="hit"}}'), 1, got)
        self.assertEqual(got.get(f'hubrelay_callout_total{{{base},result="unknown",cache="miss"}}'), 1, got)
        self.assertEqual(got.get(f'hubrelay_callout_total{{{base},result="unknown",cache="hit"}}'), 1, got)
        # One decision per RCPT, counted by reason like every other policy decision.
        dec = {k: v for k, v in m.items() if k.startswith("hubrelay_policy_decisions_total")}
        rcpt = 'stage="rcpt"'
        self.assertEqual(dec.get(f'hubrelay_policy_decisions_total{{{base},{rcpt},decision="reject",'
                                 f'reason="recipient_unknown"}}'), 2, dec)
        self.assertEqual(dec.get(f'hubrelay_policy_decisions_total{{{base},{rcpt},decision="accept",'
                                 f'reason="none"}}'), 2, dec)

    def test_utf8_recipient_is_verified_in_a_smtputf8_callout(self):
        # RFC 6531: the callout's MAIL carries SMTPUTF8, or a strict hop refuses the
        # address's syntax (553 5.6.7) and a valid mailbox would be reported unknown.
        # aiosmtpd is lenient about that, so the hop here is a second hubrelay.
        state_b = self.dir / "state-b"
        state_b.mkdir()
        sink = InProcessSink(self.dir / "final", port=free_port("127.0.0.1")).start()
        self.addCleanup(sink.stop)
        cfg_b = RelayConfig(state_dir=state_b, inbound_port=free_port(INBOUND_HOST),
                            outbound_port=free_port(OUTBOUND_HOST),
                            inbound_hops=[Hop("sink", sink.port)], outbound_hops=[Hop("sink", sink.port)])
        relay_b = self.start_relay(cfg_b, cfg_b.write(self.dir / "relay-b.toml"))
        cfg, _relay = self.start(hop_port=cfg_b.inbound_port)
        c = RawSmtp(INBOUND_HOST, cfg.inbound_port, source="127.0.0.9")
        with c:
            self.assertEqual(c.reply().code, 220)
            c.command("EHLO client.test")
            self.assertEqual(c.command("MAIL FROM:<alice@example.net> SMTPUTF8").code, 250)
            reply = c.command("RCPT TO:<j\u00f6rg@example.com>")
            c.command("QUIT")
        self.assertEqual(reply.code, 250, reply.text)
        self.assertIn("stage=rcpt decision=accept", relay_b.log_text())

    def test_verified_recipient_is_delivered(self):
        cfg, _relay = self.start()
        mid, msg = build_message(to=["bob@example.com"])
        c = RawSmtp(INBOUND_HOST, cfg.inbound_port, source="127.0.0.8")
        with c:
            c.reply()
            c.command("EHLO client.test")
            c.command("MAIL FROM:<alice@example.net>")
            self.assertEqual(c.command("RCPT TO:<bob@example.com>").code, 250)
            self.assertEqual(c.command("RCPT TO:<nobody@example.com>").code, 550)
            self.assert_data_accepted(c, msg)
            c.command("QUIT")
        got = wait_for(lambda: [m for m in self.sink.messages() if mid.encode() in m.raw], 20, "delivery")
        self.assertEqual(got[0].rcpt_tos, ["bob@example.com"])

    def test_concurrent_callouts_for_one_address_are_coalesced(self):
        # The sink holds each RCPT for 3 s, so the first session's callout is still in
        # flight when the second session asks (ordering by events, not by timing).
        cfg, relay = self.start(modes=["delay-rcpt=3"])
        results = {}

        def first():
            results["first"] = self.rcpts(cfg, "127.0.0.6", ["carol@example.com"])[0]

        t = threading.Thread(target=first, daemon=True)
        t.start()
        wait_for(lambda: self.callouts("carol@example.com") == 1, 20, "first callout at the sink")
        second = self.rcpts(cfg, "127.0.0.7", ["carol@example.com"])[0]
        t.join(timeout=30)
        self.assertFalse(t.is_alive())
        self.assertEqual(results["first"].code, 250, results["first"].text)
        self.assertEqual(second.code, 250, second.text)
        self.assertEqual(self.callouts("carol@example.com"), 1)
        self.assertIn("callout rcpt=<carol@example.com> result=valid cache=coalesced", relay.log_text())

    def test_552_to_the_callout_rcpt_is_not_user_unknown(self):
        # A 552 to RCPT means "too many recipients" (RFC 5321 §4.5.3.1.10): delivery reads it
        # as 452 and the callout, with the same judge, as no answer about the mailbox.
        cfg, relay = self.start(modes=["full-rcpt=busy@example.com"])
        r = self.rcpts(cfg, "127.0.0.9", ["busy@example.com"])[0]
        self.assertEqual((r.code, r.enhanced), (451, "4.4.3"), r.text)
        self.assertIn("callout rcpt=<busy@example.com> result=failed cache=miss", relay.log_text())

    def test_dead_hop_defers_with_451(self):
        dead = free_port("127.0.0.1")  # nothing listens here
        cfg, relay = self.start(hop_port=dead, timeout="2s")
        r = self.rcpts(cfg, "127.0.0.9", ["bob@example.com"])[0]
        self.assertEqual((r.code, r.enhanced), (451, "4.4.3"), r.text)
        self.assertRegex(relay.log_text(), r"callout rcpt=<bob@example\.com> result=failed cache=miss")


class StaticListTest(E2ETestCase):
    def test_static_list_and_file(self):
        listing = self.dir / "recipients.txt"
        listing.write_text("# valid recipients\ncarol@example.com\n@sales.example.com   # catch-all\n")
        sink = self.start_sink("hub")
        cfg, path = self.make_config(
            [Hop("hub", sink.port)], [Hop("smarthost", sink.port)],
            accepted_domains=["example.com", "sales.example.com"],
            inbound_policy_extra=['valid_recipients = ["bob@example.com"]',
                                  f'valid_recipients_file = "{listing}"'])
        relay = self.start_relay(cfg, path)
        c = RawSmtp(INBOUND_HOST, cfg.inbound_port, source="127.0.0.6")
        with c:
            c.reply()
            c.command("EHLO client.test")
            c.command("MAIL FROM:<alice@example.net>")
            for rcpt, want in (("bob@example.com", 250), ("CAROL@example.com", 250),
                               ("anyone@sales.example.com", 250), ("eve@example.com", 550),
                               ("x@other.example", 550)):
                r = c.command(f"RCPT TO:<{rcpt}>")
                self.assertEqual(r.code, want, f"{rcpt}: {r.text}")
                if rcpt == "eve@example.com":
                    self.assertEqual(r.enhanced, "5.1.1")
                    self.assertIn("user unknown", r.text)
            c.command("QUIT")
        self.assertRegex(relay.log_text(), r"check=static outcome=reject reason=recipient_unknown "
                                           r"rcpt=<eve@example\.com>")
        self.assertRegex(relay.log_text(), r"stage=rcpt decision=reject reason=recipient_unknown")


if __name__ == "__main__":
    unittest.main()

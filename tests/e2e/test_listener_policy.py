#!/usr/bin/python3
"""tests/e2e/test_listener_policy.py — access rules and per-client limits, end to end.

Owns: the listener policy seen from real clients on both listeners of the edge deployment of docs/deployment.md: open
relay attempts from untrusted addresses, anti-spoofing on inbound (and the same sender
accepted on outbound from a trusted HUB address), client networks, sender/recipient deny
lists, HELO checks, outbound allowed sender domains, the per-client connection limit
(421, recovered once a session ends), connection/message/recipient rates (421 / 451 4.7.1,
recovered once the bucket refills), and the decision log lines and
hubrelay_policy_decisions_total on /metrics.
Client addresses are picked inside 127.0.0.0/8 with source_address: 127.0.0.2 is the
trusted HUB on the outbound listener, 127.0.0.3+ are untrusted clients.
Never: asserts timing; every wait is "eventually within N s" and bounded.
Standards: RFC 5321 §3.6.2/§7.1 (relaying), §4.2.5 (4xx means come back later), RFC 3463.
"""

import signal
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (INBOUND_HOST, OUTBOUND_HOST, RELAY_HOSTNAME, E2ETestCase, Hop,  # noqa: E402
                     RawSmtp, build_message, free_port, send_mail, stuff, wait_for,
                     fetch_metrics)

WAIT = 20.0
HUB = "127.0.0.2"          # trusted on the outbound listener
STRANGER = "127.0.0.3"     # trusted nowhere
OTHER = "127.0.0.4"


def open_session(host, port, source):
    c = RawSmtp(host, port, source=source)
    return c, c.reply()


class ListenerPolicyCase(E2ETestCase):
    """Starts a relay with one sink behind both routes and the given issue-6 settings."""

    def start(self, inbound=(), inbound_policy=(), outbound=(), outbound_policy=(), admin=False):
        self.sink = self.start_sink("hub")
        extra = ""
        if admin:
            self.admin_port = free_port("127.0.0.1")
            extra = f'[admin]\nlisten = "127.0.0.1:{self.admin_port}"'
        self.cfg, path = self.make_config(
            [Hop("hub", self.sink.port)], [Hop("smarthost", self.sink.port)],
            outbound_trusted=[f"{HUB}/32"],
            inbound_extra=list(inbound), inbound_policy_extra=list(inbound_policy),
            outbound_extra=list(outbound), outbound_policy_extra=list(outbound_policy),
            extra_toml=extra)
        self.relay = self.start_relay(self.cfg, path)

    def inbound(self, source=STRANGER):
        return open_session(INBOUND_HOST, self.cfg.inbound_port, source)

    def outbound(self, source=HUB):
        return open_session(OUTBOUND_HOST, self.cfg.outbound_port, source)

    def assert_reply(self, reply, code, enhanced=None, what=""):
        self.assertIsNotNone(reply, f"{what}: connection closed instead of {code}")
        self.assertEqual(reply.code, code, f"{what}: {reply.code} {reply.text}")
        if enhanced:
            self.assertEqual(reply.enhanced, enhanced, f"{what}: {reply.text}")

    def metrics(self):
        return fetch_metrics(self.admin_port)


class AccessRulesTest(ListenerPolicyCase):
    def setUp(self):
        super().setUp()
        self.start(
            inbound_policy=['sender_deny = ["*@spam.example", "*.bulk.example"]',
                            'recipient_deny = ["trap@example.com"]',
                            "helo_required_fqdn = true",
                            "helo_reject_own_name = true"],
            outbound_policy=['allowed_sender_domains = ["example.com", "*.example.com"]'],
            admin=True)

    def test_open_relay_attempts_from_untrusted_addresses_refused_on_both_listeners(self):
        c, banner = self.inbound()
        with c:
            self.assert_reply(banner, 220)
            self.assert_reply(c.command("EHLO client.test"), 250)
            self.assert_reply(c.command("MAIL FROM:<someone@example.net>"), 250)
            for rcpt in ("victim@elsewhere.test", "x%y@example.com", "x@[10.0.0.1]"):
                self.assert_reply(c.command(f"RCPT TO:<{rcpt}>"), 550, "5.7.1", f"inbound RCPT {rcpt}")
        # Outbound: an untrusted address may not even start a transaction.
        for source in (STRANGER, OTHER, "127.0.0.9"):
            c, banner = self.outbound(source)
            with c:
                self.assert_reply(banner, 220)
                self.assert_reply(c.command("EHLO client.test"), 250)
                self.assert_reply(c.command("MAIL FROM:<alice@example.com>"), 550, "5.7.1", f"outbound from {source}")
                self.assert_reply(c.command("RCPT TO:<victim@elsewhere.test>"), 503, None, "RCPT after refused MAIL")
        self.assertEqual(self.sink.messages(), [])

    def test_spoofed_internal_sender_refused_inbound_accepted_outbound_from_trusted(self):
        c, _ = self.inbound()
        with c:
            self.assert_reply(c.command("EHLO client.test"), 250)
            r = c.command("MAIL FROM:<ceo@example.com>")
            self.assert_reply(r, 550, "5.7.1", "spoofed sender on inbound")
            self.assertIn("internal domain", r.text)
            # The null sender is never spoofed; an external sender is fine.
            self.assert_reply(c.command("MAIL FROM:<>"), 250, "2.1.0", "null sender")
            self.assert_reply(c.command("RSET"), 250)
            self.assert_reply(c.command("MAIL FROM:<partner@example.net>"), 250, "2.1.0")
        mid, msg = build_message(sender="ceo@example.com", to=["someone@elsewhere.test"])
        send_mail(OUTBOUND_HOST, self.cfg.outbound_port, "ceo@example.com", ["someone@elsewhere.test"], msg,
                  source=HUB)
        got = self.wait_for_message(self.sink, mid)
        self.assertEqual(got.mail_from, "ceo@example.com")
        # Log line and counter for the refusal.
        wait_for(lambda: "stage=mail decision=reject reason=spoofed_sender" in self.relay.log_text(), WAIT,
                 "the spoofed_sender decision in the relay log")
        line = next(l for l in self.relay.log_text().splitlines() if "reason=spoofed_sender" in l)
        self.assertIn(f"listener=inbound client={STRANGER} stage=mail decision=reject", line)
        key = ('hubrelay_policy_decisions_total{listener="inbound",direction="inbound",stage="mail",'
               'decision="reject",reason="spoofed_sender"}')
        self.assertEqual(self.metrics().get(key), 1.0)

    def test_outbound_allowed_sender_domains(self):
        c, _ = self.outbound()
        with c:
            self.assert_reply(c.command("EHLO hub01.corp.test"), 250)
            self.assert_reply(c.command("MAIL FROM:<ceo@gmail.test>"), 550, "5.7.1", "foreign sender on outbound")
            self.assert_reply(c.command("MAIL FROM:<robot@app.example.com>"), 250, "2.1.0")
            self.assert_reply(c.command("RSET"), 250)
            self.assert_reply(c.command("MAIL FROM:<>"), 250, "2.1.0", "NDR from a HUB")
        wait_for(lambda: "reason=sender_not_allowed" in self.relay.log_text(), WAIT, "sender_not_allowed logged")

    def test_deny_lists_hit(self):
        c, _ = self.inbound()
        with c:
            self.assert_reply(c.command("EHLO client.test"), 250)
            self.assert_reply(c.command("MAIL FROM:<x@spam.example>"), 550, "5.7.1", "denied sender")
            self.assert_reply(c.command("MAIL FROM:<X@Mail.BULK.example>"), 550, "5.7.1", "denied sender wildcard")
            self.assert_reply(c.command("MAIL FROM:<ok@example.net>"), 250)
            self.assert_reply(c.command("RCPT TO:<trap@example.com>"), 550, "5.7.1", "denied recipient")
            self.assert_reply(c.command("RCPT TO:<bob@example.com>"), 250, "2.1.5")
        m = self.metrics()
        for reason, n in (("sender_denied", 2.0), ("recipient_denied", 1.0)):
            stage = "mail" if reason.startswith("sender") else "rcpt"
            key = (f'hubrelay_policy_decisions_total{{listener="inbound",direction="inbound",stage="{stage}",'
                   f'decision="reject",reason="{reason}"}}')
            self.assertEqual(m.get(key), n, key)

    def test_helo_checks(self):
        c, _ = self.inbound()
        with c:
            self.assert_reply(c.command("EHLO localhost"), 501, "5.5.2", "non-FQDN HELO")
            self.assert_reply(c.command(f"HELO {STRANGER}"), 501, "5.5.2", "bare IP HELO")
            self.assert_reply(c.command(f"EHLO {RELAY_HOSTNAME}"), 550, "5.7.1", "HELO claiming to be us")
            self.assert_reply(c.command(f"EHLO [{INBOUND_HOST}]"), 550, "5.7.1", "HELO with our address")
            self.assert_reply(c.command("MAIL FROM:<a@example.net>"), 503, None, "no HELO accepted yet")
            self.assert_reply(c.command(f"EHLO [{STRANGER}]"), 250, None, "own address literal")
            self.assert_reply(c.command("EHLO client.test"), 250)
        wait_for(lambda: "stage=helo decision=reject reason=helo_spoofed" in self.relay.log_text(), WAIT,
                 "helo_spoofed logged")


class ClientNetworksTest(ListenerPolicyCase):
    def test_only_listed_client_networks_may_connect(self):
        self.start(inbound_policy=[f'client_networks = ["{STRANGER}/32", "127.0.0.1/32", "::1"]'])
        c, banner = self.inbound(OTHER)
        with c:
            self.assert_reply(banner, 554, "5.7.1", "client outside client_networks")
            self.assertIsNone(c.reply(), "connection must close after the 554")
        c, banner = self.inbound(STRANGER)
        with c:
            self.assert_reply(banner, 220)
        wait_for(lambda: "stage=connect decision=reject reason=client_not_allowed" in self.relay.log_text(), WAIT,
                 "client_not_allowed logged")


class ConnectionLimitTest(ListenerPolicyCase):
    def test_connection_limit_per_client_reached_and_recovered(self):
        self.start(inbound=["max_connections_per_client = 2"])
        held = []
        for i in range(2):
            c, banner = self.inbound()
            self.addCleanup(c.close)
            self.assert_reply(banner, 220, None, f"connection {i + 1}")
            held.append(c)
        c, banner = self.inbound()
        with c:
            self.assert_reply(banner, 421, "4.7.0", "third connection from the same address")
            self.assertIn("Too many connections", banner.text)
            self.assertIsNone(c.reply(), "connection must close after the 421")
        # Another address is not affected.
        c, banner = self.inbound(OTHER)
        with c:
            self.assert_reply(banner, 220, None, "another client address")
        # One session ends: a new connection is taken again (eventually: the server
        # notices the QUIT and ends the session first).
        self.assert_reply(held[0].command("QUIT"), 221)
        held[0].close()

        def admitted():
            c, banner = self.inbound()
            with c:
                return banner is not None and banner.code == 220
        wait_for(admitted, WAIT, "a connection admitted after one closed")

    def test_connection_count_survives_reload(self):
        # One connection held; SIGHUP with the limit raised from 1 to 2: the held
        # connection still counts, so exactly one more is admitted, not two.
        self.start(inbound=["max_connections_per_client = 1"])
        held, banner = self.inbound()
        self.addCleanup(held.close)
        self.assert_reply(banner, 220)
        c, banner = self.inbound()
        with c:
            self.assert_reply(banner, 421, "4.7.0", "second connection before the reload")
        text = self.cfg.render().replace("max_connections_per_client = 1", "max_connections_per_client = 2")
        (self.dir / "hubrelay.toml").write_text(text)
        marker = "SIGHUP: configuration reloaded"
        self.relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: marker in self.relay.log_text(), WAIT, f"'{marker}' in the relay log")
        second, banner = self.inbound()
        self.addCleanup(second.close)
        self.assert_reply(banner, 220, None, "second connection after raising the limit")
        c, banner = self.inbound()
        with c:
            self.assert_reply(banner, 421, "4.7.0", "third connection: the held one still counts")

    def test_connection_rate_reached_and_recovered(self):
        self.start(inbound=['connection_rate = "2/2s"'])
        for i in range(2):
            c, banner = self.inbound()
            with c:
                self.assert_reply(banner, 220, None, f"connection {i + 1}")
        # Bounded: the bucket refills within about a second, so a few tries suffice to see a 421.
        refused = None
        for _ in range(5):
            c, banner = self.inbound()
            with c:
                if banner is not None and banner.code == 421:
                    refused = banner
                    break
        self.assertIsNotNone(refused, "no 421 after exceeding connection_rate")
        self.assertEqual(refused.enhanced, "4.7.0")

        def admitted():
            c, banner = self.inbound()
            with c:
                return banner is not None and banner.code == 220
        wait_for(admitted, WAIT, "a connection admitted after the bucket refilled")


class RateLimitTest(ListenerPolicyCase):
    def test_message_and_recipient_rates_reached_and_recovered(self):
        self.start(inbound=['message_rate = "3/2s"', 'recipient_rate = "3/2s"'], admin=True)
        c, _ = self.inbound()
        self.addCleanup(c.close)
        self.assert_reply(c.command("EHLO client.test"), 250)
        got = []
        for _ in range(6):
            r = c.command("MAIL FROM:<a@example.net>")
            got.append(r.code)
            if r.code == 451:
                self.assertEqual(r.enhanced, "4.7.1")
                self.assertIn("Message rate limit", r.text)
                break
            self.assert_reply(c.command("RSET"), 250)
        self.assertEqual(got[-1], 451, f"MAIL replies {got}: want a 451 once 3 were taken")
        self.assertGreaterEqual(len(got), 4, f"MAIL replies {got}: the burst of 3 must be accepted")

        def mail_accepted():
            r = c.command("MAIL FROM:<a@example.net>")
            return r is not None and r.code == 250
        wait_for(mail_accepted, WAIT, "MAIL accepted again after the bucket refilled", interval=0.5)

        codes = []
        for i in range(6):
            r = c.command(f"RCPT TO:<user{i}@example.com>")
            codes.append(r.code)
            if r.code == 451:
                self.assertEqual(r.enhanced, "4.7.1")
                break
        self.assertEqual(codes[-1], 451, f"RCPT replies {codes}")

        def rcpt_accepted():
            r = c.command("RCPT TO:<later@example.com>")
            return r is not None and r.code == 250
        wait_for(rcpt_accepted, WAIT, "RCPT accepted again after the bucket refilled", interval=0.5)
        self.assert_reply(c.command("DATA"), 354)
        mid, msg = build_message(to=["later@example.com"])
        c.send(stuff(msg) + b".\r\n")
        self.assert_reply(c.reply(), 250)
        self.wait_for_message(self.sink, mid)
        m = self.metrics()
        for stage, reason in (("mail", "message_rate_exceeded"), ("rcpt", "recipient_rate_exceeded")):
            key = (f'hubrelay_policy_decisions_total{{listener="inbound",direction="inbound",stage="{stage}",'
                   f'decision="defer",reason="{reason}"}}')
            self.assertGreaterEqual(m.get(key, 0), 1.0, key)


if __name__ == "__main__":
    unittest.main(verbosity=2)

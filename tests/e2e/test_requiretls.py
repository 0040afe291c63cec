#!/usr/bin/python3
"""tests/e2e/test_requiretls.py — REQUIRETLS and "TLS-Required: No" (RFC 8689) end to end.

Owns: the listener's offer (REQUIRETLS in the EHLO reply only under TLS) and its 530
5.7.10 to MAIL ... REQUIRETLS in clear; delivery of a REQUIRETLS message only on a
verified session whose EHLO offers REQUIRETLS, with REQUIRETLS on the MAIL FROM the
upstream receives; the 5.7.30 bounce (sent itself with REQUIRETLS) when the hop lacks the
extension or its TLS is only opportunistic; on an MX hop, the next MX host tried when the
preferred one lacks REQUIRETLS; and "TLS-Required: No" carrying a message through a
tls = "verify" hop whose certificate does not verify (a spooled message too).
Set-up: one throw-away self-signed certificate for sink.test (also the CA the relay
trusts) in the test's temp dir; sinks with STARTTLS; the relay's outbound listener offers
STARTTLS with the same certificate. Bounces go to carol@example.com, an accepted domain:
they take the inbound route to the "hub" sink, a verified REQUIRETLS hop.
Never: asserts timing; "nothing happened" is checked after a bounded settle().
"""

import email
import email.policy
import smtplib
import socket
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dns_server import DnsServer  # noqa: E402
from harness import (OUTBOUND_HOST, E2ETestCase, Hop, RawSmtp, SinkProcess, build_message,  # noqa: E402
                     free_port, settle, wait_for, with_message_id)
from test_routing import make_certificate  # noqa: E402
from test_tls import client_context  # noqa: E402

WAIT = 30.0
SENDER = "carol@example.com"
RECIPIENT = "x@remote.example"


class RequireTlsCase(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.cert = make_certificate(self.dir)
        self.key = self.dir / "sink-key.pem"

    def tls_sink(self, name, modes=()):
        return self.start_sink(name, modes=list(modes),
                               extra_args=["--tls-cert", str(self.cert), "--tls-key", str(self.key)])

    def start(self, smarthost, smarthost_tls="verify", smarthost_host="sink.test"):
        """The relay: outbound listener with STARTTLS; the smart host as asked; the hub
        (where bounces go) a verified REQUIRETLS hop."""
        self.hub = self.tls_sink("hub", ["requiretls"])
        ca = f'tls_ca_file = "{self.cert}"'
        hub = Hop("hub", self.hub.port, host="sink.test", extra=['tls = "verify"', ca])
        hop = Hop("smarthost", smarthost.port, host=smarthost_host, extra=[f'tls = "{smarthost_tls}"', ca])
        self.cfg, path = self.make_config(
            [hub], [hop],
            outbound_extra=['tls = "offered"', f'tls_certificate = "{self.cert}"', f'tls_key = "{self.key}"'],
            extra_sections='[dns.hosts]\n"sink.test" = ["127.0.0.1"]\n"other.test" = ["127.0.0.1"]\n')
        self.relay = self.start_relay(self.cfg, path)

    def submit(self, msg, requiretls=True):
        with smtplib.SMTP(OUTBOUND_HOST, self.cfg.outbound_port, local_hostname="client.test", timeout=30) as s:
            s.starttls(context=client_context())
            s.ehlo()
            if requiretls:
                self.assertTrue(s.has_extn("requiretls"))
            options = ["REQUIRETLS"] if requiretls else []
            self.assertEqual(s.sendmail(SENDER, [RECIPIENT], msg, mail_options=options), {})

    def bounce_for(self, mid):
        def found():
            return [m for m in self.hub.messages() if m.mail_from in ("", "<>") and mid.encode() in m.raw]
        return wait_for(found, WAIT, f"a bounce about {mid} at the hub")[0]

    def assert_requiretls_bounce(self, mid):
        bounce = self.bounce_for(mid)
        self.assertEqual(bounce.rcpt_tos, [SENDER])
        # RFC 8689 §5: the report on a REQUIRETLS message travels with REQUIRETLS too.
        self.assertIn("REQUIRETLS", bounce.meta["mail_options"])
        self.assertTrue(bounce.meta["tls"])
        report = email.message_from_bytes(bounce.raw, policy=email.policy.compat32)
        blocks = report.get_payload()[1].get_payload()
        self.assertEqual(blocks[1]["Action"], "failed")
        self.assertEqual(blocks[1]["Status"], "5.7.30")
        self.assertIn("REQUIRETLS support required", blocks[1]["Diagnostic-Code"])


class ListenerTest(RequireTlsCase):
    def test_refused_in_clear_offered_and_accepted_after_starttls(self):
        self.start(self.tls_sink("smarthost", ["requiretls"]))
        c = RawSmtp(OUTBOUND_HOST, self.cfg.outbound_port)
        self.addCleanup(c.close)
        self.assertEqual(c.reply().code, 220)
        ehlo = c.command("EHLO client.test")
        self.assertIn("STARTTLS", ehlo.text)
        self.assertNotIn("REQUIRETLS", ehlo.text)
        r = c.command("MAIL FROM:<carol@example.com> REQUIRETLS")
        self.assertEqual((r.code, r.enhanced), (530, "5.7.10"))
        self.assertIn("REQUIRETLS needs an encrypted connection", r.text)
        self.assertEqual(c.command("STARTTLS").code, 220)
        c.sock = client_context().wrap_socket(c.sock, server_hostname="relay.test")
        self.assertIn("REQUIRETLS", c.command("EHLO client.test").text)
        self.assertEqual(c.command("MAIL FROM:<carol@example.com> REQUIRETLS=YES").code, 501)
        self.assertEqual(c.command("MAIL FROM:<carol@example.com> REQUIRETLS").code, 250)


class DeliveryTest(RequireTlsCase):
    def test_delivered_with_requiretls_to_a_verified_hop_that_offers_it(self):
        smarthost = self.tls_sink("smarthost", ["requiretls"])
        self.start(smarthost)
        mid, msg = build_message(sender=SENDER, to=(RECIPIENT,))
        self.submit(msg)
        got = self.wait_for_message(smarthost, mid, WAIT)
        self.assertIn("REQUIRETLS", got.meta["mail_options"])
        self.assertTrue(got.meta["tls"])
        self.assertRegex(self.relay.log_text(), r"status=delivered .* tls=verified")

    def test_bounced_when_the_verified_hop_does_not_offer_it(self):
        smarthost = self.tls_sink("smarthost")
        self.start(smarthost)
        mid, msg = build_message(sender=SENDER, to=(RECIPIENT,))
        self.submit(msg)
        self.assert_requiretls_bounce(mid)
        self.assertEqual(with_message_id(smarthost.messages(), mid), [])

    def test_bounced_when_the_hop_is_only_opportunistic(self):
        smarthost = self.tls_sink("smarthost", ["requiretls"])
        self.start(smarthost, smarthost_tls="opportunistic")
        mid, msg = build_message(sender=SENDER, to=(RECIPIENT,))
        self.submit(msg)
        self.assert_requiretls_bounce(mid)
        self.assertEqual(with_message_id(smarthost.messages(), mid), [])


class TlsRequiredNoTest(RequireTlsCase):
    def test_header_waives_a_verify_hop_whose_certificate_does_not_verify(self):
        smarthost = self.tls_sink("smarthost")
        # The certificate names sink.test, the hop is other.test: "verify" defers everything...
        self.start(smarthost, smarthost_host="other.test")
        held_mid, held = build_message(sender=SENDER, to=(RECIPIENT,), subject="held")
        self.submit(held, requiretls=False)
        # ... except what said "TLS-Required: No", which goes with opportunistic TLS.
        mid, msg = build_message(sender=SENDER, to=(RECIPIENT,), subject="waived",
                                 extra_headers=[b"TLS-Required: No"])
        self.submit(msg, requiretls=False)
        got = self.wait_for_message(smarthost, mid, WAIT)
        self.assertTrue(got.meta["tls"])
        self.assertIn(b"TLS-Required: No", got.raw)
        settle(1.0)
        self.assertEqual(with_message_id(smarthost.messages(), held_mid), [])
        self.assertEqual([m for m in self.hub.messages() if m.mail_from in ("", "<>")], [], "nothing bounces")
        # Its success says nothing about the hop's own (verified) sessions: still ejected.
        self.assertNotIn("usable again: a delivery", self.relay.log_text())

    def test_header_of_a_spooled_message_waives_too(self):
        # Above inline_body_max the body goes to a spool file: the field is read from its
        # header section as it is written.
        smarthost = self.tls_sink("smarthost")
        self.start(smarthost, smarthost_host="other.test")
        mid, msg = build_message(sender=SENDER, to=(RECIPIENT,), subject="waived, spooled",
                                 extra_headers=[b"TLS-Required: No"], body=(b"x" * 76 + b"\r\n") * 1500)
        self.assertGreater(len(msg), 64 * 1024)
        self.submit(msg, requiretls=False)
        got = self.wait_for_message(smarthost, mid, WAIT)
        self.assertEqual(got.raw.count(b"x" * 76), 1500)

    def test_header_is_ignored_with_requiretls(self):
        smarthost = self.tls_sink("smarthost", ["requiretls"])
        self.start(smarthost, smarthost_host="other.test")
        mid, msg = build_message(sender=SENDER, to=(RECIPIENT,), extra_headers=[b"TLS-Required: No"])
        self.submit(msg)
        wait_for(lambda: "TLS handshake" in self.relay.log_text(), WAIT, "the verify failure")
        settle(1.0)
        self.assertEqual(with_message_id(smarthost.messages(), mid), [])


# The second MX host listens on its own loopback address, on the first one's port.
SECOND_MX_ADDRESS = "127.0.83.89"


def port_free_on_both() -> int:
    for _ in range(20):
        port = free_port("127.0.0.1")
        with socket.socket() as probe:
            try:
                probe.bind((SECOND_MX_ADDRESS, port))
                return port
            except OSError:
                continue
    raise AssertionError("no port free on both loopback addresses")


class MxTest(E2ETestCase):
    """An MX hop with tls = "verify": the preferred host lacks REQUIRETLS, the second offers
    it. RFC 8689 §4.2.1: the next MX host is tried before anything bounces."""

    def test_next_mx_host_carries_what_the_first_cannot(self):
        cert = make_certificate(self.dir, names=("mx1.rt.example", "mx2.rt.example"))
        tls = ["--tls-cert", str(cert), "--tls-key", str(self.dir / "sink-key.pem")]
        port = port_free_on_both()
        first = self.start_sink("mx1", port=port, extra_args=tls)
        second = SinkProcess(self.dir / "sink-mx2", port, self.dir / "sink-mx2.log", host=SECOND_MX_ADDRESS,
                             modes=["requiretls"], extra_args=tls).start()
        self.addCleanup(second.stop)
        hub = self.start_sink("hub")
        dns = DnsServer({"rt.example": {"MX": [(10, "mx1.rt.example"), (20, "mx2.rt.example")]},
                         "mx1.rt.example": {"A": ["127.0.0.1"]},
                         "mx2.rt.example": {"A": [SECOND_MX_ADDRESS]}}).start()
        self.addCleanup(dns.stop)
        cfg, path = self.make_config(
            [Hop("hub", hub.port)], [Hop("smarthost", hub.port)],
            outbound_extra=['tls = "offered"', f'tls_certificate = "{cert}"',
                            f'tls_key = "{self.dir / "sink-key.pem"}"'],
            extra_routes="\n".join(['[[route]]', 'name = "rt"', 'direction = "outbound"', 'domains = ["rt.example"]',
                                     'hops = [ { hop = "direct" } ]', '']),
            extra_sections="\n".join(['[hop.direct]', 'type = "mx"', f"port = {port}", 'tls = "verify"',
                                       f'tls_ca_file = "{cert}"', '[dns]', f'servers = ["127.0.0.1:{dns.port}"]',
                                       'timeout = "2s"', '']))
        relay = self.start_relay(cfg, path)
        mid, msg = build_message(sender=SENDER, to=("x@rt.example",))
        with smtplib.SMTP(OUTBOUND_HOST, cfg.outbound_port, local_hostname="client.test", timeout=30) as s:
            s.starttls(context=client_context())
            s.ehlo()
            self.assertEqual(s.sendmail(SENDER, ["x@rt.example"], msg, mail_options=["REQUIRETLS"]), {})
        got = self.wait_for_message(second, mid, WAIT)
        self.assertIn("REQUIRETLS", got.meta["mail_options"])
        self.assertIn("hop=direct remote=127.0.0.1:%d cannot carry a REQUIRETLS message" % port, relay.log_text())
        self.assertEqual(with_message_id(first.messages(), mid), [])
        self.assertEqual(hub.messages(), [], "nothing bounces")


if __name__ == "__main__":
    unittest.main()

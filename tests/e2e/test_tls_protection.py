#!/usr/bin/python3
"""tests/e2e/test_tls_protection.py — what protected each delivery, as the administrator sees it.

Owns: one relay with [dns] dnssec against a DNS server on 127.0.0.1 (tests/e2e/dns_server.py)
that signs every name, a STARTTLS sink whose certificate the TLSA records name (helpers of
test_dane.py), an MX hop under "auto" and a smart host under tls = "dane". Cases: a
message deferred by the sink once and then delivered over DANE shows tls="dane TLSv1.x
CIPHER" on both attempts in `hubrelay queue show` (text and --json) and in the log line;
hubrelay_tls_deliveries_total counts those transactions under result "dane"; `route
explain` shows the MX host and the smart host as DANE; a smart host with its own TLSA
records is delivered to over DANE; the MX host's TLSA answer is asked once for both
attempts (cached for its TTL); a TLSA mismatch counts under result "failed"; a message
saying "TLS-Required: No" goes to a tls = "dane" smart host whose TLSA records match
nothing, with opportunistic TLS, while the hop's other mail waits.
Never: asserts timing; waits are bounded.
Standards: RFC 7672 §2.2.2, §3.1; RFC 8689 §4.1.
"""

import json
import re
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dns_server import DnsServer  # noqa: E402
from harness import (OUTBOUND_HOST, E2ETestCase, Hop, build_message, fetch_metrics, free_port,  # noqa: E402
                     message_id_of, run_cli, settle, smtp_connect, smtp_transaction, wait_for)
import test_dane  # noqa: E402
from test_dane import make_ca_and_leaf, spki_sha256  # noqa: E402

WAIT = 60.0
SMART_HOST = "smart.dane.example"
# A smart host under tls = "dane" whose TLSA record matches no certificate.
WRONG_SMART_HOST = "wrong.dane.example"


class TlsReportingTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        chain, key, _ca, leaf = make_ca_and_leaf(self.dir, "upstream.dane.example")
        # The first message is deferred (451 after the dot), so one recipient has two attempts.
        self.sink = self.start_sink("tls", modes=["tempfail-first=1"],
                                    extra_args=["--tls-cert", str(chain), "--tls-key", str(key)])
        self.hub = self.start_sink("hub")
        port = self.sink.port
        ee = (3, 1, 1, spki_sha256(leaf))
        zone = {"ee.example": {"MX": [(10, "mx.ee.example")]}, "mx.ee.example": {"A": ["127.0.0.1"]},
                f"_{port}._tcp.mx.ee.example": {"TLSA": [ee]},
                SMART_HOST: {"A": ["127.0.0.1"]}, f"_{port}._tcp.{SMART_HOST}": {"TLSA": [ee]},
                WRONG_SMART_HOST: {"A": ["127.0.0.1"]},
                f"_{port}._tcp.{WRONG_SMART_HOST}": {"TLSA": [(3, 1, 1, "00" * 32)]},
                "mismatch.example": {"MX": [(10, "mx.mismatch.example")]},
                "mx.mismatch.example": {"A": ["127.0.0.1"]},
                f"_{port}._tcp.mx.mismatch.example": {"TLSA": [(3, 1, 1, "00" * 32)]}}
        self.dns = DnsServer(zone, authentic=tuple(zone)).start()
        self.addCleanup(self.dns.stop)
        self.admin_port = free_port("127.0.0.1")

        def route(name, domains, hop):
            return "\n".join(["[[route]]", f'name = "{name}"', 'direction = "outbound"',
                              f"domains = {domains}", f'hops = [ {{ hop = "{hop}" }} ]', ""])

        self.cfg, self.path = self.make_config(
            [Hop("hub", self.hub.port)], [Hop("smarthost", self.hub.port)],
            extra_routes=route("auto", '["ee.example", "mismatch.example"]', "direct")
            + route("smart", '["viasmart.example"]', "smartdane") + route("wrong", '["viawrong.example"]', "wrongdane"),
            extra_sections="\n".join([
                "[hop.direct]", 'type = "mx"', f"port = {port}", 'connect_timeout = "5s"',
                "[hop.smartdane]", f'host = "{SMART_HOST}"', f"port = {port}", 'tls = "dane"',
                'connect_timeout = "5s"',
                "[hop.wrongdane]", f'host = "{WRONG_SMART_HOST}"', f"port = {port}", 'tls = "dane"',
                'connect_timeout = "5s"',
                "[dns]", f'servers = ["127.0.0.1:{self.dns.port}"]', 'timeout = "2s"', "dnssec = true",
                "[admin]", f'listen = "127.0.0.1:{self.admin_port}"', ""]))
        self.relay = self.start_relay(self.cfg, self.path)

    send = test_dane.DaneTest.send  # one message from carol@example.com through the outbound listener

    def delivered(self, rcpt: str) -> str:
        mid = self.send(rcpt)
        wait_for(lambda: mid in [message_id_of(m.raw) for m in self.sink.messages()], WAIT, f"{rcpt} at the sink")
        return wait_for(lambda: next((line for line in self.relay.log_text().splitlines()
                                      if f"to=<{rcpt}>" in line and "status=delivered" in line), ""),
                        WAIT, "the delivery log line")

    def test_deferred_then_delivered_over_dane_is_reported_everywhere(self):
        line = self.delivered("a@ee.example")
        self.assertRegex(line, r" tls=dane tls_protocol=TLSv1\.[23] tls_cipher=\S+")
        qid = re.search(r"qid=(\S+)", line).group(1)

        shown = run_cli(["queue", "show", qid, "--config", str(self.path)])
        self.assertEqual(shown.returncode, 0, shown.stderr)
        attempts = re.findall(r'attempt hop=direct \(127\.0\.0\.1:\d+\) tls="dane TLSv1\.[23] \S+" (\w+)',
                              shown.stdout)
        self.assertEqual(attempts, ["pending", "delivered"], shown.stdout)
        as_json = run_cli(["queue", "show", qid, "--json", "--config", str(self.path)])
        self.assertEqual(as_json.returncode, 0, as_json.stderr)
        tls = [a["tls"] for a in json.loads(as_json.stdout)["attempts"]]
        self.assertEqual(len(tls), 2, as_json.stdout)
        for text in tls:
            self.assertRegex(text, r"^dane TLSv1\.[23] \S+$")

        metrics = fetch_metrics(self.admin_port)
        self.assertEqual(metrics['hubrelay_tls_deliveries_total{hop="direct",policy="auto",result="dane"}'], 2)
        self.assertEqual(metrics['hubrelay_tls_deliveries_total{hop="direct",policy="auto",result="failed"}'], 0)
        self.assertEqual(metrics['hubrelay_tls_deliveries_total{hop="direct",policy="auto",result="none"}'], 0)
        # Two attempts, one TLSA question: the answer is kept for its TTL (300 s here).
        self.assertEqual(self.dns.count(f"_{self.sink.port}._tcp.mx.ee.example", "TLSA"), 1)

    def test_a_tlsa_mismatch_counts_as_failed(self):
        self.send("x@mismatch.example")
        wait_for(lambda: "no matching DANE TLSA records" in self.relay.log_text(), WAIT, "the DANE failure")
        failed = 'hubrelay_tls_deliveries_total{hop="direct",policy="auto",result="failed"}'
        wait_for(lambda: fetch_metrics(self.admin_port).get(failed, 0) >= 1, WAIT, "the failed count")
        metrics = fetch_metrics(self.admin_port)
        self.assertEqual(metrics['hubrelay_tls_deliveries_total{hop="direct",policy="auto",result="dane"}'], 0)
        self.assertEqual(self.sink.messages(), [], "mail went out anyway")

    def test_route_explain_shows_the_mx_hosts_tlsa_state(self):
        r = run_cli(["route", "explain", "a@ee.example", "--config", str(self.path)])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("outbound tls:\n  direct: tls = auto (DANE for hosts with validated TLSA records", r.stdout)
        self.assertIn("    mx.ee.example: DANE (1 usable TLSA record, DNSSEC-validated)", r.stdout)
        smart = run_cli(["route", "explain", "b@viasmart.example", "--config", str(self.path)])
        self.assertIn("  smartdane: tls = dane", smart.stdout)
        self.assertIn(f"    {SMART_HOST}: DANE (1 usable TLSA record", smart.stdout)

    def test_smart_host_with_tlsa_is_delivered_over_dane(self):
        # The sink defers the first message once; the retry goes over DANE too.
        line = self.delivered("b@viasmart.example")
        self.assertIn("hop=smartdane", line)
        self.assertIn(" tls=dane ", line)
        self.assertGreaterEqual(self.dns.count(f"_{self.sink.port}._tcp.{SMART_HOST}", "TLSA"), 1)
        metrics = fetch_metrics(self.admin_port)
        self.assertEqual(metrics['hubrelay_tls_deliveries_total{hop="smartdane",policy="dane",result="dane"}'], 2)
        self.assertEqual(metrics['hubrelay_tls_deliveries_total{hop="smartdane",policy="dane",result="failed"}'], 0)

    def test_tls_required_no_goes_to_a_dane_smart_host_without_dane(self):
        # The hop's own mail waits: no certificate matches its TLSA record.
        held = self.send("held@viawrong.example")
        wait_for(lambda: "no matching DANE TLSA records" in self.relay.log_text(), WAIT, "the DANE failure")
        # RFC 8689 §4.1: the sender waived it, so DANE is not asked for this one.
        rcpt = "waived@viawrong.example"
        mid, msg = build_message(sender=test_dane.SENDER, to=[rcpt], subject="waived",
                                 extra_headers=[b"TLS-Required: No"])
        with smtp_connect(OUTBOUND_HOST, self.cfg.outbound_port) as s:
            smtp_transaction(s, test_dane.SENDER, [rcpt], msg)
        wait_for(lambda: mid in [message_id_of(m.raw) for m in self.sink.messages()], WAIT, f"{rcpt} at the sink")
        got = [m for m in self.sink.messages() if message_id_of(m.raw) == mid][0]
        self.assertTrue(got.meta["tls"], "delivered without TLS")
        line = wait_for(lambda: next((line for line in self.relay.log_text().splitlines()
                                      if f"to=<{rcpt}>" in line and "status=delivered" in line), ""),
                        WAIT, "the delivery log line")
        self.assertIn("hop=wrongdane", line)
        self.assertIn(" tls=opportunistic ", line)
        settle(1.0)
        self.assertNotIn(held, [message_id_of(m.raw) for m in self.sink.messages()], "DANE mail went out anyway")
        self.assertEqual(self.hub.messages(), [], "nothing bounces")


if __name__ == "__main__":
    unittest.main(verbosity=2)

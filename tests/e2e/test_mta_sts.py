#!/usr/bin/python3
"""tests/e2e/test_mta_sts.py — MTA-STS (RFC 8461) for MX delivery against the real binary.

Owns: a test CA and one certificate it issues for every MX host and mta-sts.<domain>
name of the test (openssl, in the test's temp dir); a second, self-signed certificate
for the "bad certificate" MX; an HTTPS server serving the policy files by Host header,
listening on port 443 of a random 127.x.y.z address (the relay always fetches from port
443, RFC 8461 §3.3; tests run as root) that the test DNS server maps every
mta-sts.<domain> to; TXT records `_mta-sts.<domain>`; STARTTLS sinks as the MX hosts.
Cases: enforce with a matching MX delivered with tls=mta-sts; enforce with an MX the
policy does not name deferred, nothing sent; testing mode with a bad certificate
delivered; an MX host that strips STARTTLS refused under tls = "mta-sts" and under auto;
a stored policy still enforced after a restart while the policy server is unreachable;
a changed TXT id makes the relay fetch the new policy; DANE wins over MTA-STS.
Never: asserts timing; "nothing arrived" is checked after a bounded settle().
Standards: RFC 8461 §3.1, §3.3, §4.1, §4.2, §5.1, §2 (DANE precedence).
"""

import http.server
import random
import socket
import ssl
import sys
import threading
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dns_server import DnsServer  # noqa: E402
from harness import (OUTBOUND_HOST, E2ETestCase, Hop, build_message, message_id_of,  # noqa: E402
                     run_cli, settle, smtp_connect, smtp_transaction, wait_for)
from test_dane import make_ca_and_leaf, mx_hop, mx_route, openssl, spki_sha256  # noqa: E402

WAIT = 45.0
SENDER = "carol@example.com"
DOMAINS = ("enforce.example", "nomatch.example", "testing.example", "stripped.example",
           "forced.example", "cache.example", "dane.example")


def self_signed(directory: Path, name: str):
    cert, key = directory / "self.pem", directory / "self-key.pem"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert))
    return cert, key


def policy(mode: str, *mx: str, max_age: int = 86400) -> str:
    return "version: STSv1\r\nmode: %s\r\n%smax_age: %d\r\n" % (
        mode, "".join(f"mx: {m}\r\n" for m in mx), max_age)


class PolicyServer:
    """HTTPS on <address>:443; `policies` maps the Host header to the body served
    (text/plain, 200). Unknown hosts get 404. Counts requests per host."""

    def __init__(self, address: str, cert: Path, key: Path):
        self.policies = {}
        self.requests = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                outer.requests[host] = outer.requests.get(host, 0) + 1
                body = outer.policies.get(host)
                if self.path != "/.well-known/mta-sts.txt" or body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((address, 443), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def unique_loopback() -> str:
    """A 127.x.y.z nobody else in this test run uses, so port 443 is free on it."""
    for _ in range(50):
        address = f"127.{random.randint(16, 250)}.{random.randint(0, 255)}.{random.randint(2, 250)}"
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.bind((address, 443))
            return address
        except OSError:
            continue
        finally:
            probe.close()
    raise RuntimeError("no free 127.x.y.z:443")


class MtaStsTest(E2ETestCase):
    """Hop "direct" (type mx, default tls = auto) reaches the good TLS sink; "bad" (auto)
    the sink with a self-signed certificate; "plain" (auto) and "forced" (tls = "mta-sts")
    a sink without STARTTLS."""

    def setUp(self):
        super().setUp()
        names = [f"mx.{d}" for d in DOMAINS] + [f"mta-sts.{d}" for d in DOMAINS] + ["mx.other.example"]
        chain, key, self.ca, leaf = make_ca_and_leaf(self.dir, *names)
        bad_cert, bad_key = self_signed(self.dir, "mx.testing.example")
        self.tls_sink = self.start_sink("tls", extra_args=["--tls-cert", str(chain), "--tls-key", str(key)])
        self.bad_sink = self.start_sink("bad", extra_args=["--tls-cert", str(bad_cert), "--tls-key", str(bad_key)])
        self.plain_sink = self.start_sink("plain")
        self.hub = self.start_sink("hub")

        self.web_address = unique_loopback()
        self.web = PolicyServer(self.web_address, chain, key).start()
        self.addCleanup(self.web.stop)
        self.web.policies.update({
            "mta-sts.enforce.example": policy("enforce", "mx.enforce.example"),
            "mta-sts.nomatch.example": policy("enforce", "mx.other.example"),
            "mta-sts.testing.example": policy("testing", "mx.testing.example"),
            "mta-sts.stripped.example": policy("enforce", "*.stripped.example"),
            "mta-sts.forced.example": policy("enforce", "mx.forced.example"),
            "mta-sts.cache.example": policy("enforce", "mx.cache.example"),
            # DANE authenticates the host: the policy's mx list (not naming it) is not used.
            "mta-sts.dane.example": policy("enforce", "mx.other.example"),
        })
        zone = {}
        for domain in DOMAINS:
            zone[domain] = {"MX": [(10, f"mx.{domain}")]}
            zone[f"mx.{domain}"] = {"A": ["127.0.0.1"]}
            zone[f"mta-sts.{domain}"] = {"A": [self.web_address]}
            zone[f"_mta-sts.{domain}"] = {"TXT": ["v=STSv1; id=1"]}
        # §3.1: TXT records that are not v=STSv1 are discarded, the one STS record counts.
        zone["_mta-sts.enforce.example"]["TXT"].insert(0, "site-verification=abc")
        zone["mx.evil.example"] = {"A": ["127.0.0.1"]}
        zone[f"_{self.tls_sink.port}._tcp.mx.dane.example"] = {"TLSA": [(3, 1, 1, spki_sha256(leaf))]}
        signed = ("dane.example", "mx.dane.example", f"_{self.tls_sink.port}._tcp.mx.dane.example")
        self.dns = DnsServer(zone, authentic=signed).start()
        self.addCleanup(self.dns.stop)

        route, hop = mx_route, mx_hop
        self.cfg, self.path = self.make_config(
            [Hop("hub", self.hub.port)], [Hop("smarthost", self.hub.port)],
            extra_routes=route("direct", '["enforce.example", "nomatch.example", "cache.example", '
                                         '"dane.example"]', "direct")
            + route("bad", '["testing.example"]', "bad")
            + route("plain", '["stripped.example"]', "plain")
            + route("forced", '["forced.example"]', "forced"),
            extra_sections="\n".join([
                hop("direct", self.tls_sink.port), hop("bad", self.bad_sink.port),
                hop("plain", self.plain_sink.port), hop("forced", self.plain_sink.port, "mta-sts"),
                "[dns]", f'servers = ["127.0.0.1:{self.dns.port}"]', 'timeout = "2s"', "dnssec = true", "",
                "[mta_sts]", f'ca_file = "{self.ca}"', ""]))
        self.relay = self.start_relay(self.cfg, self.path)

    def send(self, rcpt: str) -> str:
        mid, msg = build_message(sender=SENDER, to=[rcpt], subject=f"mta-sts {rcpt}")
        with smtp_connect(OUTBOUND_HOST, self.cfg.outbound_port) as s:
            smtp_transaction(s, SENDER, [rcpt], msg)
        return mid

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.dir.glob("relay-*.log")))

    def delivered_line(self, rcpt: str) -> str:
        for line in self.log().splitlines():
            if f"to=<{rcpt}>" in line and "status=delivered" in line:
                return line
        return ""

    def assert_delivered(self, rcpt: str, sink, tls: str) -> None:
        mid = self.send(rcpt)
        wait_for(lambda: mid in [message_id_of(m.raw) for m in sink.messages()], WAIT, f"{rcpt} at its sink")
        line = wait_for(lambda: self.delivered_line(rcpt), WAIT, "the delivery log line")
        self.assertIn(f" tls={tls}", line)

    def assert_deferred(self, rcpt: str, sink, why: str) -> None:
        mid = self.send(rcpt)
        wait_for(lambda: why in self.log(), WAIT, f"the deferral of {rcpt}: {why}")
        settle(1.5)
        self.assertNotIn(mid, [message_id_of(m.raw) for m in sink.messages()], "mail went out anyway")
        self.assertEqual(self.delivered_line(rcpt), "")
        self.assertEqual(self.hub.messages(), [], "an MTA-STS deferral must not bounce")

    def restart(self) -> None:
        self.relay.stop()
        self.relay = self.start_relay(self.cfg, self.path)

    def test_enforce_with_matching_mx_is_delivered_with_tls_mta_sts(self):
        self.assert_delivered("a@enforce.example", self.tls_sink, "mta-sts")
        self.assertGreaterEqual(self.web.requests.get("mta-sts.enforce.example", 0), 1)
        self.assertGreaterEqual(self.dns.count("_mta-sts.enforce.example", "TXT"), 1)
        explained = run_cli(["route", "explain", "a@enforce.example", "--config", str(self.path)])
        self.assertIn("mta-sts:    policy id 1, mode enforce, mx mx.enforce.example", explained.stdout)

    def test_enforce_skips_an_mx_the_policy_does_not_name(self):
        self.assert_deferred("b@nomatch.example", self.tls_sink, "MX host not in the MTA-STS policy")
        self.assertIn("4.7.5", self.log())

    def test_testing_mode_delivers_despite_a_bad_certificate(self):
        self.assert_delivered("c@testing.example", self.bad_sink, "opportunistic")
        self.assertIn("MTA-STS testing: validation failed", self.log())

    def test_stripped_starttls_is_refused_under_auto_and_mta_sts(self):
        why = "STARTTLS not offered, but the domain's MTA-STS policy requires TLS"
        self.assert_deferred("d@stripped.example", self.plain_sink, why)
        self.assertIn("tls_failure=starttls-not-supported", self.log())
        mid = self.send("e@forced.example")
        wait_for(lambda: self.log().count(why) >= 2 and "mx=mx.forced.example" in self.log(), WAIT,
                 "the deferral under tls = mta-sts")
        settle(1.0)
        self.assertNotIn(mid, [message_id_of(m.raw) for m in self.plain_sink.messages()])

    def test_stored_policy_stays_in_force_when_the_fetch_fails_after_a_restart(self):
        self.assert_delivered("f@cache.example", self.tls_sink, "mta-sts")
        self.assertTrue((self.cfg.state_dir / "mta-sts" / "cache.example").is_file())
        # The policy server goes away, the TXT id changes (a refresh is due and fails)
        # and an attacker points the MX at a host the stored policy does not name.
        del self.web.policies["mta-sts.cache.example"]
        self.dns.zone["_mta-sts.cache.example"] = {"TXT": ["v=STSv1; id=2"]}
        self.dns.zone["cache.example"] = {"MX": [(10, "mx.evil.example")]}
        self.restart()
        self.assert_deferred("g@cache.example", self.tls_sink, "mx=mx.evil.example skipped")
        self.assertIn("HTTP 404", self.log())

    def test_changed_id_fetches_the_new_policy(self):
        self.assert_delivered("h@cache.example", self.tls_sink, "mta-sts")
        before = self.web.requests.get("mta-sts.cache.example", 0)
        self.web.policies["mta-sts.cache.example"] = policy("enforce", "mx.other.example")
        self.dns.zone["_mta-sts.cache.example"] = {"TXT": ["v=STSv1; id=2"]}
        self.restart()  # the TXT record is asked again at most once a minute per domain
        self.assert_deferred("i@cache.example", self.tls_sink, "MX host not in the MTA-STS policy (id 2)")
        self.assertGreater(self.web.requests.get("mta-sts.cache.example", 0), before)
        self.assertIn("id=2 mode=enforce", self.log())

    def test_dane_wins_over_mta_sts(self):
        self.assert_delivered("j@dane.example", self.tls_sink, "dane")


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""tests/e2e/test_dane.py — DANE (RFC 7672) for MX delivery against the real binary.

Owns: a test CA and an upstream certificate it issues (openssl, in the test's temp dir;
no key is ever committed); TLSA records computed from them; a DNS server on 127.0.0.1
that answers MX, A and TLSA with the AD bit only for names it "validated" and only when
the relay asked for it (RFC 6840 §5.7); STARTTLS sinks (tests/e2e/sink.py) as the MX
hosts. Cases: DANE-EE(3) match delivered with tls=dane (the certificate's name is not
the MX host's: usage 3 checks no name); DANE-TA(2) match on the CA delivered with
tls=dane; a TLSA set that does not match deferred with nothing sent; TLSA in answers
without AD ignored (no TLSA even asked, delivered opportunistically); STARTTLS missing
at a host whose TLSA requires it deferred; tls = "dane" with no TLSA deferred; a failed
(SERVFAIL: bogus) TLSA lookup on a signed host deferred even under "auto".
Never: asserts timing; "nothing arrived" is checked after a bounded settle().
Standards: RFC 7672 §2.1, §2.2, §3.1, §3.2; RFC 6698; RFC 6840 §5.7.
"""

import hashlib
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dns_server import DnsServer  # noqa: E402
from harness import (OUTBOUND_HOST, E2ETestCase, Hop, build_message, message_id_of,  # noqa: E402
                     settle, smtp_connect, smtp_transaction, wait_for)

WAIT = 60.0
SENDER = "carol@example.com"


def openssl(*args: str, stdin: bytes = b"") -> bytes:
    return subprocess.run(["openssl", *args], input=stdin, check=True, capture_output=True,
                          timeout=60).stdout


def make_ca_and_leaf(directory: Path, leaf_name: str, *more_names: str):
    """A test CA and a leaf certificate for `leaf_name` (and `more_names`) it signs.
    Returns (chain, key, ca, leaf)."""
    ca, ca_key = directory / "ca.pem", directory / "ca-key.pem"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=DANE test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
            "-keyout", str(ca_key), "-out", str(ca))
    leaf, key, csr = directory / "leaf.pem", directory / "leaf-key.pem", directory / "leaf.csr"
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={leaf_name}",
            "-keyout", str(key), "-out", str(csr))
    ext = directory / "leaf.ext"
    names = ",".join(f"DNS:{name}" for name in (leaf_name, *more_names))
    ext.write_text(f"subjectAltName={names}\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
            "-days", "2", "-extfile", str(ext), "-out", str(leaf))
    chain = directory / "chain.pem"
    chain.write_bytes(leaf.read_bytes() + ca.read_bytes())
    return chain, key, ca, leaf


def spki_sha256(cert: Path) -> str:
    """TLSA selector 1 (SubjectPublicKeyInfo), matching type 1 (SHA2-256)."""
    pem = openssl("x509", "-in", str(cert), "-noout", "-pubkey")
    return hashlib.sha256(openssl("pkey", "-pubin", "-outform", "DER", stdin=pem)).hexdigest()


def cert_sha256(cert: Path) -> str:
    """TLSA selector 0 (the whole certificate), matching type 1 (SHA2-256)."""
    return hashlib.sha256(openssl("x509", "-in", str(cert), "-outform", "DER")).hexdigest()


def mx_route(name: str, domains: str, hop: str) -> str:
    """An outbound [[route]] of `domains` (TOML array text) to the one hop `hop`."""
    return "\n".join(["[[route]]", f'name = "{name}"', 'direction = "outbound"',
                      f"domains = {domains}", f'hops = [ {{ hop = "{hop}" }} ]', ""])


def mx_hop(name: str, port: int, tls=None) -> str:
    """A type = "mx" [hop.NAME] reaching the MX hosts on `port`, with `tls` when given."""
    lines = [f"[hop.{name}]", 'type = "mx"', f"port = {port}", 'connect_timeout = "5s"']
    return "\n".join(lines + ([f'tls = "{tls}"'] if tls else []) + [""])


class DaneTest(E2ETestCase):
    """One relay, [dns] dnssec = true; the MX hop "direct" keeps the default policy
    ("auto" under dnssec) and reaches the TLS sink; "strict" (tls = "dane") reaches the TLS
    sink too, "stripped" (tls = "dane") a sink that offers no STARTTLS."""

    def setUp(self):
        super().setUp()
        # The leaf names a host no MX points at: a DANE-EE(3) match must not check names.
        chain, key, self.ca, leaf = make_ca_and_leaf(self.dir, "upstream.dane.example")
        self.tls_sink = self.start_sink("tls", extra_args=["--tls-cert", str(chain), "--tls-key", str(key)])
        self.plain_sink = self.start_sink("plain")
        self.hub = self.start_sink("hub")
        tls_port, plain_port = self.tls_sink.port, self.plain_sink.port
        ee = (3, 1, 1, spki_sha256(leaf))
        ta = (2, 0, 1, cert_sha256(self.ca))
        wrong = (3, 1, 1, "00" * 32)
        pkix_only = (1, 1, 1, spki_sha256(leaf))

        def mx(domain, host, tlsa, port=tls_port):
            zone = {domain: {"MX": [(10, host)]}, host: {"A": ["127.0.0.1"]}}
            if tlsa:
                zone[f"_{port}._tcp.{host}"] = {"TLSA": tlsa}
            return zone

        zone = {}
        for part in (mx("ee.example", "mx.ee.example", [ee]),
                     # DANE-TA(2): the leaf must carry a reference name; the next-hop domain counts.
                     mx("upstream.dane.example", "mx.ta.example", [pkix_only, ta]),
                     mx("mismatch.example", "mx.mismatch.example", [wrong]),
                     mx("unsigned.example", "mx.unsigned.example", [wrong]),
                     mx("stripped.example", "mx.stripped.example", [ee], port=plain_port),
                     mx("notlsa.example", "mx.notlsa.example", []),
                     mx("bogus.example", "mx.bogus.example", [])):
            zone.update(part)
        unsigned = {"unsigned.example", "mx.unsigned.example", f"_{tls_port}._tcp.mx.unsigned.example"}
        # A validated denial: the signed zone proves mx.notlsa.example has no TLSA.
        signed = [n for n in zone if n not in unsigned] + [f"_{tls_port}._tcp.mx.notlsa.example"]
        # A validating resolver answers SERVFAIL for forged (bogus) TLSA records.
        self.dns = DnsServer(zone, authentic=tuple(signed),
                             servfail=(f"_{tls_port}._tcp.mx.bogus.example",)).start()
        self.addCleanup(self.dns.stop)

        route, hop = mx_route, mx_hop
        self.cfg, path = self.make_config(
            [Hop("hub", self.hub.port)], [Hop("smarthost", self.hub.port)],
            extra_routes=route("auto", '["ee.example", "upstream.dane.example", "mismatch.example", '
                                       '"unsigned.example", "bogus.example"]', "direct")
            + route("strict", '["notlsa.example"]', "strict")
            + route("stripped", '["stripped.example"]', "stripped"),
            extra_sections="\n".join([
                hop("direct", tls_port), hop("strict", tls_port, "dane"), hop("stripped", plain_port, "dane"),
                "[dns]", f'servers = ["127.0.0.1:{self.dns.port}"]', 'timeout = "2s"', "dnssec = true", ""]))
        self.relay = self.start_relay(self.cfg, path)

    def send(self, rcpt: str) -> str:
        mid, msg = build_message(sender=SENDER, to=[rcpt], subject=f"dane {rcpt}")
        with smtp_connect(OUTBOUND_HOST, self.cfg.outbound_port) as s:
            smtp_transaction(s, SENDER, [rcpt], msg)
        return mid

    def delivered_line(self, rcpt: str) -> str:
        for line in self.relay.log_text().splitlines():
            if f"to=<{rcpt}>" in line and "status=delivered" in line:
                return line
        return ""

    def assert_delivered_with(self, rcpt: str, tls: str) -> None:
        mid = self.send(rcpt)
        wait_for(lambda: mid in [message_id_of(m.raw) for m in self.tls_sink.messages()], WAIT,
                 f"{rcpt} at the TLS sink")
        stored = [m for m in self.tls_sink.messages() if message_id_of(m.raw) == mid][0]
        self.assertTrue(stored.meta["tls"], "delivered without TLS")
        line = wait_for(lambda: self.delivered_line(rcpt), WAIT, "the delivery log line")
        self.assertIn(f" tls={tls}", line)

    def assert_deferred(self, rcpt: str, sink, why: str) -> None:
        mid = self.send(rcpt)
        wait_for(lambda: why in self.relay.log_text(), WAIT, f"the deferral of {rcpt}: {why}")
        settle(1.5)
        self.assertNotIn(mid, [message_id_of(m.raw) for m in sink.messages()], "mail went out anyway")
        self.assertEqual(self.delivered_line(rcpt), "")
        self.assertEqual(self.hub.messages(), [], "a DANE deferral must not bounce")

    def test_dane_ee_match_is_delivered_with_tls_dane(self):
        self.assert_delivered_with("a@ee.example", "dane")
        self.assertGreaterEqual(self.dns.count("_%d._tcp.mx.ee.example" % self.tls_sink.port, "TLSA"), 1)
        self.assertGreater(self.dns.ad_requests, 0, "the relay never asked for the AD bit")

    def test_dane_ta_match_on_the_next_hop_domain_is_delivered_with_tls_dane(self):
        self.assert_delivered_with("b@upstream.dane.example", "dane")

    def test_tlsa_mismatch_defers_and_nothing_is_sent(self):
        self.assert_deferred("c@mismatch.example", self.tls_sink, "no matching DANE TLSA records")
        self.assertIn("4.7.5", self.relay.log_text())

    def test_tlsa_without_ad_is_ignored(self):
        self.assert_delivered_with("d@unsigned.example", "opportunistic")
        # RFC 7672 §2.2.2: an unvalidated MX answer means TLSA is not even looked up.
        self.assertEqual(self.dns.count(f"_{self.tls_sink.port}._tcp.mx.unsigned.example", "TLSA"), 0)

    def test_starttls_stripped_under_dane_defers(self):
        self.assert_deferred("e@stripped.example", self.plain_sink,
                             "STARTTLS not offered, but the host's TLSA records (DANE) require TLS")

    def test_dane_policy_without_tlsa_defers(self):
        self.assert_deferred("f@notlsa.example", self.tls_sink, "DANE policy of next hop cannot be met")
        self.assertIn("no TLSA records", self.relay.log_text())

    def test_failed_tlsa_lookup_on_a_signed_host_defers_under_auto(self):
        self.assert_deferred("g@bogus.example", self.tls_sink, "TLSA lookup failed")


if __name__ == "__main__":
    unittest.main(verbosity=2)

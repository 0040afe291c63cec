#!/usr/bin/python3
"""tests/e2e/test_routing.py — the routing and delivery engine against real sinks.

Owns: cost tiers and spreading (3 equal hops + a backup tier, 300 messages, each hop
within ±15% of its share, the backup idle); failover (a 4xx-answering hop and a dead
hop skipped, nothing lost or duplicated); RFC 3464 bounces (5xx recipient → DSN at the
HUB sink, parsed with Python's email package; null sender never bounced); STARTTLS
policies (required to a plain hop sends nothing; verify + AUTH to a TLS/AUTH sink);
MX delivery through a DNS server the test runs on 127.0.0.1 (preference order with
fallback, implicit MX, null MX bounce, split-DNS static override, TTL cache).
Never: asserts timing; waits are bounded; everything stays on 127.0.0.0/8.
Prints the measured spread and failover figures to stderr ("[e2e] ...").
Standards: RFC 5321 §5.1, RFC 3464, RFC 3207, RFC 4954, RFC 7505.
"""

import collections
import email
import email.policy
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dns_server import DnsServer  # noqa: E402
from harness import (INBOUND_HOST, OUTBOUND_HOST, E2ETestCase, Hop, RelayConfig,  # noqa: E402
                     build_message, fetch_metrics, free_port, message_id_of, run_cli, settle, smtp_connect,
                     smtp_transaction, wait_for)

WAIT = 60.0
SENDER = "carol@example.com"  # in the accepted domains: bounces take the inbound route


def ids(messages):
    return [message_id_of(m.raw) for m in messages]


class RoutingCase(E2ETestCase):
    def send(self, rcpts_per_message, tag, sender=SENDER):
        """Sends one message per entry (a list of recipients) over one session."""
        mids = []
        with smtp_connect(OUTBOUND_HOST, self.cfg.outbound_port) as s:
            for i, rcpts in enumerate(rcpts_per_message):
                mid, msg = build_message(sender=sender or "nobody@example.net", to=rcpts,
                                         subject=f"{tag} {i}")
                smtp_transaction(s, sender, rcpts, msg)
                mids.append(mid)
        return mids

    def wait_all(self, mids, sinks, what):
        want = set(mids)
        wait_for(lambda: want <= {m for s in sinks for m in ids(s.messages())}, WAIT, what)

    def bounces_at(self, sink):
        return [m for m in sink.messages() if m.mail_from in ("", "<>")]


class SpreadAndFailoverTest(RoutingCase):
    def test_spread_within_the_tier_and_backup_idle(self):
        sinks = [self.start_sink(n) for n in ("t1a", "t1b", "t1c", "t2")]
        hub = self.start_sink("hub")
        hops = [Hop("t1a", sinks[0].port), Hop("t1b", sinks[1].port), Hop("t1c", sinks[2].port),
                Hop("t2", sinks[3].port, cost=20)]
        self.cfg, path = self.make_config([Hop("hub", hub.port)], hops)
        self.start_relay(self.cfg, path)
        mids = self.send([[f"r{i}@remote.example"] for i in range(300)], "spread")
        self.wait_all(mids, sinks, "300 messages at the tier-1 hops")
        counts = [len(s.messages()) for s in sinks]
        print(f"[e2e] spread of 300 over 3 equal hops (tier 10) + backup (tier 20): "
              f"{counts[0]}/{counts[1]}/{counts[2]} backup={counts[3]}", file=sys.stderr)
        for n in counts[:3]:
            self.assertGreaterEqual(n, 85, counts)
            self.assertLessEqual(n, 115, counts)
        self.assertEqual(counts[3], 0, "the backup tier was used while tier 1 was healthy")
        self.assertEqual(sum(counts), 300)

    def test_route_explain_cli(self):
        a, b = self.start_sink("a"), self.start_sink("b")
        hub = self.start_sink("hub")
        self.cfg, path = self.make_config([Hop("hub", hub.port)],
                                          [Hop("a", a.port), Hop("b", b.port, cost=20)])
        result = run_cli(["route", "explain", "bob@remote.example", "--config", str(path)])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("route:      internet", result.stdout)
        self.assertIn("try order:  a -> b", result.stdout)
        result = run_cli(["route", "explain", "x@example.com", "--direction", "inbound",
                          "--config", str(path)])
        self.assertIn("route:      to-hub", result.stdout)

    def test_source_address_is_bound_before_connect(self):
        sink = self.start_sink("egress")
        hub = self.start_sink("hub")
        self.cfg, path = self.make_config(
            [Hop("hub", hub.port)], [Hop("egress", sink.port, extra=['source_address = "127.0.0.3"'])])
        self.start_relay(self.cfg, path)
        [mid] = self.send([["x@remote.example"]], "egress")
        self.wait_all([mid], [sink], "the message at the egress sink")
        self.assertEqual(sink.messages()[0].meta["peer"][0], "127.0.0.3")

    def test_tempfailing_and_dead_hops_are_skipped_nothing_lost(self):
        good = self.start_sink("good")
        tempfail = self.start_sink("tempfail", modes=["tempfail"])
        backup = self.start_sink("backup")
        hub = self.start_sink("hub")
        dead_port = free_port()  # nothing listens there
        hops = [Hop("good", good.port), Hop("tempfail", tempfail.port), Hop("dead", dead_port),
                Hop("backup", backup.port, cost=20)]
        self.cfg, path = self.make_config([Hop("hub", hub.port)], hops)
        relay = self.start_relay(self.cfg, path)
        mids = self.send([[f"f{i}@remote.example"] for i in range(60)], "failover")
        self.wait_all(mids, [good, backup], "60 messages at good or backup")
        settle(2.0)
        counts = collections.Counter(ids(good.messages()) + ids(backup.messages()))
        self.assertEqual(sorted(counts), sorted(mids))
        self.assertEqual({m: n for m, n in counts.items() if n != 1}, {}, "duplicates")
        self.assertEqual(tempfail.messages(), [], "the 4xx hop stored something")
        log = relay.log_text()
        print(f"[e2e] failover of 60 with a 4xx hop and a dead hop in tier 10: "
              f"good={len(good.messages())} backup={len(backup.messages())} lost=0 dup=0 "
              f"hop-failure-lines={log.count('failed:')}", file=sys.stderr)
        self.assertIn("hop=dead failed", log)


class ChunkingToTheNextHopTest(RoutingCase):
    """A hop offering CHUNKING gets the body as one BDAT LAST chunk (RFC 3030): no dot-
    stuffing, no 354 round trip. The hop here is a second hubrelay (aiosmtpd and smtp-sink
    do not offer CHUNKING); its log says how each message came in."""

    def test_body_goes_as_one_bdat_chunk_byte_for_byte(self):
        sink = self.start_sink("final")
        state_b = self.dir / "state-b"
        state_b.mkdir()
        cfg_b = RelayConfig(state_dir=state_b, inbound_port=free_port(INBOUND_HOST),
                            outbound_port=free_port(OUTBOUND_HOST),
                            inbound_hops=[Hop("sink", sink.port)], outbound_hops=[Hop("sink", sink.port)])
        relay_b = self.start_relay(cfg_b, cfg_b.write(self.dir / "relay-b.toml"))
        self.cfg, path = self.make_config([Hop("b", cfg_b.inbound_port)], [Hop("b", cfg_b.inbound_port)])
        relay_a = self.start_relay(self.cfg, path)

        # Lines a DATA transfer would have to stuff, 8-bit text, and an empty last line.
        body = b".leading dot\r\n..two dots\r\n.\r\nna\xc3\xafve\r\n\r\n"
        mid, msg = build_message(sender="carol@example.net", to=["bob@example.com"], body=body)
        with smtp_connect(OUTBOUND_HOST, self.cfg.outbound_port) as s:
            smtp_transaction(s, "carol@example.net", ["bob@example.com"], msg, mail_options=["BODY=8BITMIME"])
        wait_for(lambda: [m for m in sink.messages() if message_id_of(m.raw) == mid], WAIT, "the message at the sink")
        got = [m for m in sink.messages() if message_id_of(m.raw) == mid][0].raw
        # Two Received: headers (relay A, relay B), then the sent bytes exactly.
        self.assertTrue(got.endswith(msg), got[-200:])
        prefix = got[:len(got) - len(msg)]
        self.assertEqual(prefix.count(b"Received: from "), 2, prefix)
        self.assertRegex(relay_b.log_text(), r"listener=inbound from=<carol@example\.net> nrcpt=1 size=\d+ via=BDAT queued")
        self.assertRegex(relay_a.log_text(), r"listener=outbound from=<carol@example\.net> nrcpt=1 size=\d+ via=DATA queued")


class BounceTest(RoutingCase):
    def setUp(self):
        super().setUp()
        self.hub = self.start_sink("hub")
        self.smarthost = self.start_sink("smarthost", modes=["permfail-rcpt=bad@remote.example"])
        self.cfg, path = self.make_config([Hop("hub", self.hub.port)],
                                          [Hop("smarthost", self.smarthost.port)])
        self.relay = self.start_relay(self.cfg, path)

    def test_5xx_recipient_is_bounced_to_the_sender_as_rfc3464(self):
        [mid] = self.send([["good@remote.example", "bad@remote.example"]], "bounce")
        self.wait_all([mid], [self.smarthost], "the good copy")
        bounce = wait_for(lambda: self.bounces_at(self.hub), WAIT, "a bounce at the HUB sink")[0]
        self.assertEqual(bounce.rcpt_tos, [SENDER])
        report = email.message_from_bytes(bounce.raw, policy=email.policy.compat32)
        self.assertEqual(report.get_content_type(), "multipart/report")
        self.assertEqual(report.get_param("report-type"), "delivery-status")
        parts = report.get_payload()
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        blocks = parts[1].get_payload()  # per-message block, then one per recipient
        self.assertEqual(blocks[0]["Reporting-MTA"], "dns; relay.test")
        recipients = blocks[1:]
        self.assertEqual(len(recipients), 1, "only the failed recipient is reported")
        self.assertEqual(recipients[0]["Final-Recipient"], "rfc822; bad@remote.example")
        self.assertEqual(recipients[0]["Action"], "failed")
        self.assertEqual(recipients[0]["Status"], "5.1.1")
        self.assertIn("550", recipients[0]["Diagnostic-Code"])
        self.assertIn(mid, parts[2].get_payload())
        self.assertNotIn("Hello", parts[2].get_payload(), "body returned without RET=FULL")

    def test_delay_notice_after_the_configured_wait(self):
        # A second relay whose only outbound hop is dead, with delay_notice = 1s.
        self.relay.stop()
        dead = Hop("dead", free_port())
        self.cfg, path = self.make_config([Hop("hub", self.hub.port)], [dead],
                                          extra_sections="")
        text = path.read_text().replace('lifetime = "1h"', 'lifetime = "1h"\ndelay_notice = "1s"')
        path.write_text(text)
        self.relay = self.start_relay(self.cfg, path)
        [mid] = self.send([["late@remote.example"]], "delay")
        notice = wait_for(lambda: self.bounces_at(self.hub), WAIT, "a delay notice at the HUB sink")[0]
        report = email.message_from_bytes(notice.raw, policy=email.policy.compat32)
        self.assertEqual(report.get_content_type(), "multipart/report")
        blocks = report.get_payload()[1].get_payload()
        self.assertEqual(blocks[1]["Action"], "delayed")
        self.assertEqual(blocks[1]["Final-Recipient"], "rfc822; late@remote.example")
        settle(3.0)  # more retries happen; the notice is sent once
        self.assertEqual(len(self.bounces_at(self.hub)), 1, "more than one delay notice")
        # ... also across a restart: the queue remembers that the notice went out.
        self.relay.stop()
        self.relay = self.start_relay(self.cfg, path)
        wait_for(lambda: "to=<late@remote.example>" in self.relay.log_text(), WAIT, "a retry after the restart")
        settle(2.0)
        self.assertEqual(len(self.bounces_at(self.hub)), 1, "a second delay notice after the restart")

    def test_null_sender_failure_is_never_bounced(self):
        self.send([["bad@remote.example"]], "nullsender", sender="")
        wait_for(lambda: "dropped without a bounce" in self.relay.log_text(), WAIT,
                 "the drop log line")
        settle(1.0)
        self.assertEqual(self.bounces_at(self.hub), [])


def make_certificate(directory: Path, names=("sink.test",)) -> Path:
    cert, key = directory / "sink-cert.pem", directory / "sink-key.pem"
    san = ",".join([f"DNS:{n}" for n in names] + ["IP:127.0.0.1"])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={names[0]}", "-addext", f"subjectAltName={san}",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert


class TlsAuthTest(RoutingCase):
    def start(self, sink, hop_extra, extra_sections=""):
        self.hub = self.start_sink("hub")
        hop = Hop("smarthost", sink.port, host=hop_extra.pop("host", "127.0.0.1"),
                  extra=[f"{k} = {v}" for k, v in hop_extra.items()])
        self.cfg, path = self.make_config([Hop("hub", self.hub.port)], [hop],
                                          extra_sections=extra_sections)
        return self.start_relay(self.cfg, path)

    def test_starttls_required_to_a_plain_hop_sends_nothing(self):
        plain = self.start_sink("plain")
        relay = self.start(plain, {"tls": '"required"'})
        self.send([["x@remote.example"]], "must-tls")
        wait_for(lambda: "STARTTLS required but not offered" in relay.log_text(), WAIT,
                 "the TLS refusal in the log")
        settle(2.0)
        self.assertEqual(plain.messages(), [], "mail went out in plaintext")
        self.assertEqual(self.bounces_at(self.hub), [], "a TLS failure must not bounce")

    def test_verified_starttls_and_auth(self):
        cert = make_certificate(self.dir)
        secure = self.start_sink("secure", extra_args=[
            "--tls-cert", str(cert), "--tls-key", str(self.dir / "sink-key.pem"),
            "--require-tls", "--auth", "relay:s3cret"])
        self.start(secure, {"host": "sink.test", "tls": '"verify"', "tls_ca_file": f'"{cert}"',
                            "auth_user": '"relay"', "auth_password": '"s3cret"'},
                   extra_sections='[dns.hosts]\n"sink.test" = ["127.0.0.1"]\n')
        [mid] = self.send([["x@remote.example"]], "tls-auth")
        self.wait_all([mid], [secure], "the message at the TLS+AUTH sink")
        stored = secure.messages()[0]
        self.assertTrue(stored.meta["tls"])
        self.assertEqual(stored.meta["auth_user"], "relay")

    def test_verify_refuses_a_certificate_for_another_name(self):
        cert = make_certificate(self.dir, names=("sink.test",))
        secure = self.start_sink("secure", extra_args=[
            "--tls-cert", str(cert), "--tls-key", str(self.dir / "sink-key.pem")])
        relay = self.start(secure, {"host": "other.test", "tls": '"verify"', "tls_ca_file": f'"{cert}"'},
                           extra_sections='[dns.hosts]\n"other.test" = ["127.0.0.1"]\n')
        self.send([["x@remote.example"]], "wrong-name")
        wait_for(lambda: "TLS handshake" in relay.log_text(), WAIT, "the handshake failure")
        settle(1.0)
        self.assertEqual(secure.messages(), [])


class MxDeliveryTest(RoutingCase):
    def setUp(self):
        super().setUp()
        self.dns = DnsServer({
            "mx-test.example": {"MX": [(10, "mx1.mx-test.example"), (20, "mx2.mx-test.example")]},
            # The preferred MX has no listener (127.0.0.9): delivery must fall back to mx2.
            "mx1.mx-test.example": {"A": ["127.0.0.9"]},
            "mx2.mx-test.example": {"A": ["127.0.0.1"]},
            "implicit.example": {"A": ["127.0.0.1"]},
            "nullmx.example": {"MX": [(0, ".")]},
            # Split DNS: public DNS says 127.0.0.9, the static override wins.
            "split.example": {"MX": [(10, "smtp.site-a.example")]},
            "smtp.site-a.example": {"A": ["127.0.0.9"]},
            # Answered after 0.4 s (under the 1 s per-try timeout), so the MX questions of a
            # burst overlap on the wire.
            "burst.example": {"MX": [(10, "mx2.mx-test.example")]},
        }, servfail=("servfail.example",), slow={"burst.example": 0.4}).start()
        self.addCleanup(self.dns.stop)
        self.hub = self.start_sink("hub")
        self.smarthost = self.start_sink("smarthost")
        self.mx_sink = self.start_sink("mx")
        self.admin_port = free_port("127.0.0.1")
        domains = '["mx-test.example", "implicit.example", "nullmx.example", "split.example", ' \
                  '"servfail.example", "burst.example"]'
        self.cfg, path = self.make_config(
            [Hop("hub", self.hub.port)], [Hop("smarthost", self.smarthost.port)],
            extra_routes="\n".join(["[[route]]", 'name = "direct"', 'direction = "outbound"',
                                    f"domains = {domains}", 'hops = [ { hop = "direct" } ]']),
            extra_sections="\n".join([
                "[hop.direct]", 'type = "mx"', f"port = {self.mx_sink.port}", 'tls = "none"',
                'connect_timeout = "2s"', "",
                "[dns]", f'servers = ["127.0.0.1:{self.dns.port}"]', 'timeout = "2s"', "",
                "[dns.hosts]", '"smtp.site-a.example" = ["127.0.0.1"]', "",
                "[admin]", f'listen = "127.0.0.1:{self.admin_port}"']))
        self.relay = self.start_relay(self.cfg, path)

    def test_a_burst_to_one_domain_sends_one_mx_query(self):
        # Five messages queued while the first MX question is outstanding:
        # they share its answer (and the cache serves anything later).
        mids = self.send([[f"r{i}@burst.example"] for i in range(5)], "burst")
        self.wait_all(mids, [self.mx_sink], "the burst at the MX sink")
        self.assertEqual(self.dns.count("burst.example", "MX"), 1, "identical MX questions were not shared")

    def test_mx_order_fallback_implicit_mx_split_dns_and_cache(self):
        mids = self.send([["a@mx-test.example"], ["b@mx-test.example"], ["c@implicit.example"],
                          ["d@split.example"]], "mx")
        self.wait_all(mids, [self.mx_sink], "MX-routed messages at the MX sink")
        self.assertEqual(self.smarthost.messages(), [], "MX mail went to the smart host")
        print(f"[e2e] MX queries for mx-test.example: {self.dns.count('mx-test.example', 'MX')}, "
              f"A queries mx1: {self.dns.count('mx1.mx-test.example', 'A')}", file=sys.stderr)
        self.assertEqual(self.dns.count("mx-test.example", "MX"), 1, "MX answer not cached")
        self.assertEqual(self.dns.count("smtp.site-a.example", "A"), 0, "override not used")

    def test_null_mx_bounces_and_servfail_defers(self):
        self.send([["x@nullmx.example"], ["y@servfail.example"]], "nullmx")
        bounce = wait_for(lambda: self.bounces_at(self.hub), WAIT, "the null-MX bounce")[0]
        report = email.message_from_bytes(bounce.raw, policy=email.policy.compat32)
        blocks = report.get_payload()[1].get_payload()
        self.assertEqual(blocks[1]["Final-Recipient"], "rfc822; x@nullmx.example")
        self.assertEqual(blocks[1]["Status"], "5.1.10")
        wait_for(lambda: "servfail.example MX lookup failed" in self.relay.log_text(), WAIT,
                 "the SERVFAIL deferral")
        settle(1.0)
        self.assertEqual(len(self.bounces_at(self.hub)), 1, "a DNS failure must not bounce")
        # Every outcome is counted once, in the exported counters: the null-MX failure is
        # a bounced recipient, the SERVFAIL one a deferred recipient.
        metrics = fetch_metrics(self.admin_port)
        self.assertEqual(metrics.get('hubrelay_recipients_bounced_total{direction="outbound"}'), 1.0, metrics)
        self.assertGreaterEqual(metrics.get('hubrelay_recipients_deferred_total{direction="outbound"}', 0), 1.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""tests/e2e/test_tlsrpt.py — SMTP TLS reports (RFC 8460) sent by the real binary.

Owns: a relay with [tls_reporting] on and DANE (tests/e2e/test_dane.py's certificates and
DNS server); two DANE domains, one whose TLSA records match (two deliveries) and one whose
records do not (one deferred session); both publish _smtp._tls TXT records with a mailto:
address at a third domain reached through the same MX hop. The reports are sent at once
through the admin API (POST /api/tls-reports/send with include_today), arrive at the sink
as mail, are decompressed and validated against tests/e2e/tlsrpt_schema.json (the RFC 8460
§4 format), and their counts are those of the sessions made. The delivery of the reports
themselves is not reported on (a second send finds nothing).
StsReportTest: MTA-STS sessions (test_mta_sts.py's policy server on 443 of a unique
127.x.y.z) reported under policy-type sts with the policy's lines and the failure's
result type; reports uploaded over HTTPS (POST, application/tlsrpt+gzip) to a loopback
server with a certificate of the test CA; a domain with two TLSRPT records gets none; an
upload the server refuses is kept and sent at the next run, its sessions counted once.
Never: asserts timing; waits are bounded.
Standards: RFC 8460 §3, §4, §5.3, §5.3.1; RFC 7672; RFC 8461.
"""

import email
import gzip
import http.server
import json
import os
import ssl
import sys
import threading
import unittest
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dns_server import DnsServer  # noqa: E402
from harness import (OUTBOUND_HOST, E2ETestCase, Hop, build_message, free_port,  # noqa: E402
                     message_id_of, parse_metrics, run_cli, settle, smtp_connect, smtp_transaction, wait_for)
from test_dane import make_ca_and_leaf, mx_hop, mx_route, spki_sha256  # noqa: E402
from test_mta_sts import PolicyServer, policy, unique_loopback  # noqa: E402

WAIT = 60.0
SENDER = "carol@example.com"
TOKEN = "tls-report-test-token"
REPORTS = "tlsrpt@reports.example"


def reporting_sections(test: E2ETestCase, dns_port: int, dnssec: bool) -> str:
    """[dns], [admin] (token file in the test dir) and [tls_reporting]; sets test.admin_port."""
    test.admin_port = free_port("127.0.0.1")
    token_file = test.dir / "admin.token"
    token_file.write_text(TOKEN + "\n")
    os.chmod(token_file, 0o600)
    return "\n".join([
        "[dns]", f'servers = ["127.0.0.1:{dns_port}"]', 'timeout = "2s"', f"dnssec = {str(dnssec).lower()}", "",
        "[admin]", f'listen = "127.0.0.1:{test.admin_port}"', f'token_file = "{token_file}"', "",
        "[tls_reporting]", "enabled = true", 'organization = "Test Org"',
        'contact = "mailto:postmaster@relay.test"', 'from = "tls-reports@relay.test"', ""])


class ReportingClient:
    """Sends mail through the relay and asks it for reports; needs self.cfg, self.admin_port
    and self.tls_sink (where report mails arrive)."""

    def send(self, rcpt: str) -> str:
        mid, msg = build_message(sender=SENDER, to=[rcpt], subject=f"tlsrpt {rcpt}")
        with smtp_connect(OUTBOUND_HOST, self.cfg.outbound_port) as s:
            smtp_transaction(s, SENDER, [rcpt], msg)
        return mid

    def send_reports(self) -> dict:
        req = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}/api/tls-reports/send",
                                     data=b'{"include_today": true}', method="POST")
        req.add_header("Authorization", f"Bearer {TOKEN}")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=15) as resp:
            return json.loads(resp.read().decode())

    def send_reports_when_idle(self) -> dict:
        """send_reports once the previous run is over (the relay refuses while one runs)."""
        def attempt():
            try:
                return self.send_reports()
            except urllib.error.HTTPError:
                return None
        return wait_for(attempt, WAIT, "an idle report run")

    def metrics(self) -> dict:
        req = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}/metrics")
        req.add_header("Authorization", f"Bearer {TOKEN}")
        with urllib.request.urlopen(req, timeout=15) as resp:
            return parse_metrics(resp.read().decode())

    def reports(self):
        """(message, report JSON) of every report mail at the TLS sink."""
        out = []
        for stored in self.tls_sink.messages():
            message = email.message_from_bytes(stored.raw)
            if message.get("TLS-Report-Domain") is None:
                continue
            parts = [p for p in message.walk() if p.get_content_type() == "application/tlsrpt+gzip"]
            out.append((message, stored, json.loads(gzip.decompress(parts[0].get_payload(decode=True)))))
        return out


class TlsReportTest(ReportingClient, E2ETestCase):

    def setUp(self):
        super().setUp()
        chain, key, _, leaf = make_ca_and_leaf(self.dir, "upstream.dane.example")
        self.tls_sink = self.start_sink("tls", extra_args=["--tls-cert", str(chain), "--tls-key", str(key)])
        self.hub = self.start_sink("hub")
        port = self.tls_sink.port
        match = (3, 1, 1, spki_sha256(leaf))
        wrong = (3, 1, 1, "00" * 32)
        record = [f"v=TLSRPTv1; rua=mailto:{REPORTS}"]
        zone = {}
        for domain, tlsa in (("good.example", [match]), ("bad.example", [wrong]), ("reports.example", [match])):
            host = f"mx.{domain}"
            zone[domain] = {"MX": [(10, host)]}
            zone[host] = {"A": ["127.0.0.1"]}
            zone[f"_{port}._tcp.{host}"] = {"TLSA": tlsa}
            # The report domain asks for reports too: it must still get none about them.
            zone[f"_smtp._tls.{domain}"] = {"TXT": record}
        self.dns = DnsServer(zone, authentic=tuple(zone)).start()
        self.addCleanup(self.dns.stop)
        sections = "\n".join([
            "[[route]]", 'name = "direct"', 'direction = "outbound"',
            '''domains = ["good.example", "bad.example", "reports.example"]''', 'hops = [ { hop = "direct" } ]', "",
            "[hop.direct]", 'type = "mx"', f"port = {port}", 'connect_timeout = "5s"', ""])
        extra = reporting_sections(self, self.dns.port, dnssec=True)
        # Retries far away: the deferred session is counted once.
        self.cfg, path = self.make_config([Hop("hub", self.hub.port)], [Hop("smarthost", self.hub.port)],
                                          extra_routes=sections, extra_sections=extra, retry_schedule=["1h"])
        self.relay = self.start_relay(self.cfg, path)

    def test_reports_count_the_sessions_and_validate_against_rfc8460(self):
        import jsonschema  # Debian's python3-jsonschema (scripts/setup-debian.sh)
        schema = json.loads((Path(__file__).resolve().parent / "tlsrpt_schema.json").read_text())
        delivered = [self.send("a@good.example"), self.send("b@good.example")]
        wait_for(lambda: all(m in [message_id_of(s.raw) for s in self.tls_sink.messages()] for m in delivered),
                 WAIT, "both DANE deliveries")
        self.send("c@bad.example")
        wait_for(lambda: "no matching DANE TLSA records" in self.relay.log_text(), WAIT, "the TLSA mismatch")

        answer = self.send_reports()
        self.assertEqual(answer["domains"], 2)
        reports = wait_for(lambda: len(self.reports()) == 2 and self.reports(), WAIT, "two report mails")
        by_domain = {}
        for message, stored, report in reports:
            jsonschema.validate(report, schema)
            self.assertEqual(stored.rcpt_tos, [REPORTS])
            self.assertEqual(stored.mail_from, "tls-reports@relay.test")
            self.assertIn('report-type="tlsrpt"', message["Content-Type"])
            self.assertEqual(message["TLS-Report-Submitter"], self.cfg_hostname())
            self.assertTrue(message["Subject"].startswith("Report Domain: "))
            part = [p for p in message.walk() if p.get_content_type() == "application/tlsrpt+gzip"][0]
            self.assertTrue(part.get_filename().endswith(".json.gz"))
            self.assertEqual(part.get_filename().split("!")[1], message["TLS-Report-Domain"])
            self.assertEqual(report["organization-name"], "Test Org")
            by_domain[message["TLS-Report-Domain"]] = report
        self.assertEqual(set(by_domain), {"good.example", "bad.example"})

        good = by_domain["good.example"]["policies"]
        self.assertEqual(len(good), 1)
        self.assertEqual(good[0]["policy"]["policy-type"], "tlsa")
        self.assertEqual(good[0]["policy"]["mx-host"], ["mx.good.example"])
        self.assertEqual(good[0]["summary"], {"total-successful-session-count": 2, "total-failure-session-count": 0})

        bad = by_domain["bad.example"]["policies"]
        self.assertEqual(len(bad), 1)
        self.assertEqual(bad[0]["summary"], {"total-successful-session-count": 0, "total-failure-session-count": 1})
        detail = bad[0]["failure-details"][0]
        self.assertEqual(detail["result-type"], "validation-failure")
        self.assertEqual(detail["receiving-mx-hostname"], "mx.bad.example")
        self.assertEqual(detail["receiving-ip"], "127.0.0.1")
        self.assertEqual(detail["failed-session-count"], 1)

        self.assertEqual(self.metrics().get("hubrelay_tls_reports_sent_total"), 2)
        # The report mails went through the same DANE hop to reports.example, which asks
        # for reports too: those sessions are not counted, so there is nothing to send.
        self.assertEqual(self.send_reports()["domains"], 0)

    def test_counts_survive_a_restart(self):
        mid = self.send("a@good.example")
        wait_for(lambda: mid in [message_id_of(s.raw) for s in self.tls_sink.messages()], WAIT, "the delivery")
        wait_for(lambda: "status=delivered" in self.relay.log_text(), WAIT, "the delivery log line")
        self.relay.stop()  # SIGTERM: the counts are saved on the way out
        self.relay = self.start_relay(self.cfg, self.dir / "hubrelay.toml")
        # What an administrator types to check the set-up: the CLI, through the admin API.
        done = run_cli(["tls-report", "send", "--today", "--config", str(self.dir / "hubrelay.toml")])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(json.loads(done.stdout)["domains"], 1)
        reports = wait_for(lambda: self.reports(), WAIT, "the report mail")
        summary = reports[0][2]["policies"][0]["summary"]
        self.assertEqual(summary, {"total-successful-session-count": 1, "total-failure-session-count": 0})

    def cfg_hostname(self) -> str:
        from harness import RELAY_HOSTNAME
        return RELAY_HOSTNAME


class ReportServer:
    """HTTPS on 127.0.0.1:<free port> taking report uploads: every POST is kept as
    (path, Content-Type, body); the answer's status is `status` (200 unless changed)."""

    def __init__(self, cert: Path, key: Path):
        self.posts = []
        self.status = 200
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1 << 20))
                outer.posts.append((self.path, self.headers.get("Content-Type"), body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def report_schema() -> dict:
    return json.loads((Path(__file__).resolve().parent / "tlsrpt_schema.json").read_text())


class StsReportTest(ReportingClient, E2ETestCase):
    """MTA-STS sessions in reports. "sts.example" publishes an enforce policy naming
    "*.sts.example" and two MX hosts on the TLS sink: mx1 (preferred) whose name the
    certificate does not carry, so its session fails, and mx2, which it names: one message
    makes one failed and one good session. "testing.example" publishes a testing policy
    whose only MX the certificate does not name: delivered, and reported as a failure.
    Report mails go to reports.example (no policy)."""

    def setUp(self):
        super().setUp()
        chain, key, self.ca, _ = make_ca_and_leaf(self.dir, "mx2.sts.example", "mta-sts.sts.example",
                                                  "reports.https.example", "mta-sts.testing.example")
        self.tls_sink = self.start_sink("tls", extra_args=["--tls-cert", str(chain), "--tls-key", str(key)])
        self.hub = self.start_sink("hub")
        self.web_reports = ReportServer(chain, key)
        self.addCleanup(self.web_reports.stop)
        web_address = unique_loopback()
        self.web = PolicyServer(web_address, chain, key).start()
        self.addCleanup(self.web.stop)
        self.sts_policy = policy("enforce", "*.sts.example")
        self.web.policies["mta-sts.sts.example"] = self.sts_policy
        self.testing_policy = policy("testing", "*.testing.example")
        self.web.policies["mta-sts.testing.example"] = self.testing_policy
        zone = {
            "sts.example": {"MX": [(10, "mx1.sts.example"), (20, "mx2.sts.example")]},
            "mx1.sts.example": {"A": ["127.0.0.1"]},
            "mx2.sts.example": {"A": ["127.0.0.1"]},
            "mta-sts.sts.example": {"A": [web_address]},
            "_mta-sts.sts.example": {"TXT": ["v=STSv1; id=1"]},
            "_smtp._tls.sts.example": {"TXT": [f"v=TLSRPTv1; rua=mailto:{REPORTS}"]},
            # A testing policy whose only MX the certificate does not name: delivered anyway.
            "testing.example": {"MX": [(10, "mx.testing.example")]},
            "mx.testing.example": {"A": ["127.0.0.1"]},
            "mta-sts.testing.example": {"A": [web_address]},
            "_mta-sts.testing.example": {"TXT": ["v=STSv1; id=7"]},
            "_smtp._tls.testing.example": {"TXT": [f"v=TLSRPTv1; rua=mailto:{REPORTS}"]},
            "reports.example": {"MX": [(10, "mx.reports.example")]},
            "mx.reports.example": {"A": ["127.0.0.1"]},
            # Reports uploaded over HTTPS to the report server.
            "https.example": {"MX": [(10, "mx.https.example")]},
            "mx.https.example": {"A": ["127.0.0.1"]},
            "_smtp._tls.https.example": {"TXT": [
                "v=spf1 -all", f"v=TLSRPTv1; rua=https://reports.https.example:{self.web_reports.port}/tlsrpt"]},
            "reports.https.example": {"A": ["127.0.0.1"]},
            # Two TLSRPT records: RFC 8460 §3 says the domain asks for nothing.
            "twice.example": {"MX": [(10, "mx.twice.example")]},
            "mx.twice.example": {"A": ["127.0.0.1"]},
            "_smtp._tls.twice.example": {"TXT": [f"v=TLSRPTv1; rua=mailto:{REPORTS}",
                                                 "v=TLSRPTv1; rua=mailto:other@reports.example"]},
        }
        self.dns = DnsServer(zone).start()
        self.addCleanup(self.dns.stop)
        extra = reporting_sections(self, self.dns.port, dnssec=False) + "\n".join([
            "[mta_sts]", f'ca_file = "{self.ca}"', "", mx_hop("direct", self.tls_sink.port)])
        self.cfg, path = self.make_config([Hop("hub", self.hub.port)], [Hop("smarthost", self.hub.port)],
                                          extra_routes=mx_route("direct", '["sts.example", "reports.example", '
                                                                '"https.example", "twice.example", '
                                                                '"testing.example"]', "direct"),
                                          extra_sections=extra, retry_schedule=["1h"])
        self.relay = self.start_relay(self.cfg, path)

    def test_sts_sessions_are_reported_with_the_policy_and_the_failure(self):
        import jsonschema  # Debian's python3-jsonschema (scripts/setup-debian.sh)
        mid = self.send("a@sts.example")
        wait_for(lambda: mid in [message_id_of(s.raw) for s in self.tls_sink.messages()], WAIT, "the delivery via mx2")
        wait_for(lambda: "status=delivered" in self.relay.log_text(), WAIT, "the delivery log line")
        self.assertIn("tls=mta-sts", self.relay.log_text())

        self.assertEqual(self.send_reports()["domains"], 1)
        reports = wait_for(lambda: self.reports(), WAIT, "the report mail")
        self.assertEqual(len(reports), 1)
        message, stored, report = reports[0]
        jsonschema.validate(report, report_schema())
        self.assertEqual(message["TLS-Report-Domain"], "sts.example")
        self.assertEqual(stored.rcpt_tos, [REPORTS])
        policies = report["policies"]
        self.assertEqual(len(policies), 1, policies)
        described = policies[0]["policy"]
        self.assertEqual(described["policy-type"], "sts")
        self.assertEqual(described["policy-domain"], "sts.example")
        # RFC 8460 §4.4: the policy's lines, and its mx patterns as mx-host.
        self.assertEqual(described["policy-string"], self.sts_policy.rstrip("\r\n").split("\r\n"))
        self.assertEqual(described["mx-host"], ["*.sts.example"])
        self.assertEqual(policies[0]["summary"],
                         {"total-successful-session-count": 1, "total-failure-session-count": 1})
        detail = policies[0]["failure-details"][0]
        self.assertEqual(detail["result-type"], "certificate-host-mismatch")
        self.assertEqual(detail["receiving-mx-hostname"], "mx1.sts.example")
        self.assertEqual(detail["receiving-ip"], "127.0.0.1")
        self.assertEqual(detail["failed-session-count"], 1)
        self.assertIn("certificate verify failed", detail["additional-information"])

    def test_testing_mode_delivers_and_reports_the_failure(self):
        import jsonschema  # Debian's python3-jsonschema (scripts/setup-debian.sh)
        mid = self.send("a@testing.example")
        wait_for(lambda: mid in [message_id_of(s.raw) for s in self.tls_sink.messages()], WAIT,
                 "the delivery despite the certificate")
        wait_for(lambda: "status=delivered" in self.relay.log_text(), WAIT, "the delivery log line")
        self.assertIn("tls_failure=", self.relay.log_text())

        self.assertEqual(self.send_reports()["domains"], 1)
        reports = wait_for(lambda: self.reports(), WAIT, "the report mail")
        self.assertEqual(len(reports), 1)
        message, _, report = reports[0]
        jsonschema.validate(report, report_schema())
        self.assertEqual(message["TLS-Report-Domain"], "testing.example")
        policies = report["policies"]
        self.assertEqual(len(policies), 1, policies)
        self.assertEqual(policies[0]["policy"]["policy-type"], "sts")
        self.assertEqual(policies[0]["policy"]["policy-string"], self.testing_policy.rstrip("\r\n").split("\r\n"))
        self.assertEqual(policies[0]["summary"],
                         {"total-successful-session-count": 0, "total-failure-session-count": 1})
        detail = policies[0]["failure-details"][0]
        self.assertEqual(detail["result-type"], "certificate-host-mismatch")
        self.assertEqual(detail["receiving-mx-hostname"], "mx.testing.example")

    def delivered(self, rcpt: str) -> None:
        mid = self.send(rcpt)
        wait_for(lambda: mid in [message_id_of(s.raw) for s in self.tls_sink.messages()], WAIT, f"{rcpt} delivered")

    def test_two_tlsrpt_records_mean_no_report(self):
        self.delivered("c@twice.example")
        self.assertEqual(self.send_reports()["domains"], 1)
        wait_for(lambda: "more than one v=TLSRPTv1 TXT record" in self.relay.log_text(), WAIT,
                 "twice.example refused")
        self.assertIn("domain=twice.example no report", self.relay.log_text())
        settle(1.0)
        self.assertEqual(self.reports(), [], "a report mail went out for twice.example")
        self.assertEqual(self.metrics().get("hubrelay_tls_reports_sent_total", 0), 0)

    def test_https_reports_are_posted(self):
        import jsonschema  # Debian's python3-jsonschema (scripts/setup-debian.sh)
        self.delivered("b@https.example")
        self.assertEqual(self.send_reports()["domains"], 1)
        wait_for(lambda: self.web_reports.posts, WAIT, "the upload")
        path, content_type, body = self.web_reports.posts[0]
        self.assertEqual(path, "/tlsrpt")
        self.assertEqual(content_type, "application/tlsrpt+gzip")
        report = json.loads(gzip.decompress(body))
        jsonschema.validate(report, report_schema())
        self.assertEqual(report["policies"][0]["policy"]["policy-domain"], "https.example")
        self.assertEqual(report["policies"][0]["summary"],
                         {"total-successful-session-count": 1, "total-failure-session-count": 0})
        wait_for(lambda: "report posted to https://reports.https.example" in self.relay.log_text(), WAIT,
                 "the upload log line")
        self.assertEqual(self.metrics().get("hubrelay_tls_reports_sent_total"), 1)
        self.assertEqual(len(self.web_reports.posts), 1)

    def test_a_failed_upload_is_kept_and_sent_at_the_next_run(self):
        self.web_reports.status = 503
        self.delivered("d@https.example")
        self.assertEqual(self.send_reports()["domains"], 1)
        wait_for(lambda: "report kept, tried again at the next run" in self.relay.log_text(), WAIT, "the kept report")
        self.assertIn("refused: HTTP 503", self.relay.log_text())
        self.assertEqual(len(self.web_reports.posts), 1)
        self.web_reports.status = 200
        self.assertEqual(self.send_reports_when_idle()["domains"], 1)
        wait_for(lambda: len(self.web_reports.posts) == 2, WAIT, "the second upload")
        report = json.loads(gzip.decompress(self.web_reports.posts[1][2]))
        # The session counted once: put back, not lost and not doubled.
        self.assertEqual(report["policies"][0]["summary"],
                         {"total-successful-session-count": 1, "total-failure-session-count": 0})
        self.assertEqual(self.send_reports_when_idle()["domains"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

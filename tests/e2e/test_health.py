#!/usr/bin/python3
"""tests/e2e/test_health.py — health-aware routing against real probe targets on loopback.

Owns: the issue-5 contract end to end. The test starts the targets of site A's path
(TCP listener, HTTP and HTTPS servers — the certificate made by `openssl req -x509` at
test time — a tiny DNS responder, ICMP echo of 127.0.0.1), site B's path, SMTP sinks for
hop A, hop B (which also gets its own SMTP check) and the administrator. It kills two of
site A's targets and checks that the path goes DOWN after the configured runs, that mail
for the route moves to hop B with nothing lost and nothing sent to A after the change,
that the alert mail reaches the admin sink and the hook ran; then brings the targets back
and watches the path come UP and mail return to A. Also `hubrelay health [--json]` and
`hubrelay alert test`. Prints the measured time from the targets dying to mail moving.
Never: asserts timing; every wait is bounded.
Standards: RFC 5321 (delivery), RFC 792 (echo), RFC 9112 (HTTP/1.0), RFC 1035 (DNS).
"""

import http.server
import json
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (ACCEPTED_DOMAIN, OUTBOUND_HOST, E2ETestCase, Hop, build_message,  # noqa: E402
                     fetch_metrics, free_port, hop_toml, message_id_of, route_toml, run_cli, send_batch, settle,
                     smtp_connect, smtp_transaction, wait_for)

WAIT = 30.0
INTERVAL = "500ms"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server naming)
        body = b"status: hubrelay-ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class HttpTarget:
    """http.server on 127.0.0.1:port, optionally TLS; start/stop any number of times."""

    def __init__(self, port, cert=None):
        self.port, self.cert, self.server = port, cert, None

    def start(self):
        self.server = _Server(("127.0.0.1", self.port), _Handler)
        if self.cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert[0], self.cert[1])
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class TcpTarget:
    """A listener that accepts and closes."""

    def __init__(self, port):
        self.port, self.sock, self.thread = port, None, None

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        sock = self.sock

        def run():
            while True:
                try:
                    conn, _ = sock.accept()
                    conn.close()
                except OSError:
                    return
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.sock = None


class DnsTarget:
    """Answers every A query with 127.0.0.1 (RFC 1035 §4.1), UDP only."""

    def __init__(self, port):
        self.port, self.sock = port, None

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", self.port))
        sock = self.sock

        def run():
            while True:
                try:
                    data, peer = sock.recvfrom(512)
                except OSError:
                    return
                if len(data) < 12:
                    continue
                qid, flags = struct.unpack("!HH", data[:4])
                end = 12
                while end < len(data) and data[end] != 0:
                    end += data[end] + 1
                question = data[12:end + 5]
                qtype = struct.unpack("!H", data[end + 1:end + 3])[0] if end + 3 <= len(data) else 0
                answers = b""
                count = 0
                if qtype == 1:
                    answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
                    count = 1
                header = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100), 1, count, 0, 0)
                try:
                    sock.sendto(header + question + answers, peer)
                except OSError:
                    return
        threading.Thread(target=run, daemon=True).start()
        return self

    def stop(self):
        if self.sock:
            self.sock.close()
            self.sock = None


def admin_route(admin_port):
    """TOML for the administrators' hop and the outbound route to their domain, alerts.test."""
    admin = Hop("admin", admin_port)
    return "\n".join(["", *hop_toml(admin), "", *route_toml("alerts", "outbound", ["alerts.test"], [admin]), ""])


class HealthRoutingTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        # --- targets ---
        key, cert = self.dir / "key.pem", self.dir / "cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=60)
        self.tcp_a = TcpTarget(free_port()).start()
        self.http_a = HttpTarget(free_port()).start()
        self.https_a = HttpTarget(free_port(), (str(cert), str(key))).start()
        self.dns_a = DnsTarget(free_port()).start()
        self.tcp_b = TcpTarget(free_port()).start()
        for target in (self.tcp_a, self.http_a, self.https_a, self.dns_a, self.tcp_b):
            self.addCleanup(target.stop)
        # --- sinks ---
        self.a = self.start_sink("a")
        self.b = self.start_sink("b")
        self.admin = self.start_sink("admin")
        # --- hook ---
        self.hook_log = self.dir / "hook.log"
        hook = self.dir / "hook.sh"
        hook.write_text("#!/bin/sh\n"
                        f"env | grep '^HUBRELAY_' | sort >> '{self.hook_log}'\n"
                        f"echo '--' >> '{self.hook_log}'\n"
                        "echo hook saw $HUBRELAY_PATH $HUBRELAY_FROM $HUBRELAY_TO\n")
        hook.chmod(0o755)
        # --- config: the harness's, plus paths, hop dependencies, alerts ---
        hops = [Hop("a", self.a.port, cost=10), Hop("b", self.b.port, cost=20)]
        self.cfg, path = self.make_config(hops, hops)
        text = path.read_text()
        text = text.replace("[hop.a]\n", '[hop.a]\npaths = ["site-a"]\n', 1)
        text = text.replace("[hop.b]\n",
                            '[hop.b]\npaths = ["site-b"]\n'
                            f'check = {{ interval = "{INTERVAL}", initial_state = "up", '
                            'down_after = { runs = 2, failed = 2 }, up_after = { runs = 1, succeeded = 1 } }\n', 1)
        text += f"""{admin_route(self.admin.port)}
[alerts]
to = ["ops@alerts.test"]
from = "hubrelay@relay.test"
hook = "{hook}"
hook_timeout = "5s"

# The failover rules: a run fails when 2 or more checks fail; DOWN when 2 of the last 2
# runs failed. Intervals are short for the test.
[path.site-a]
interval = "{INTERVAL}"
fail_threshold = 2
down_after = {{ runs = 2, failed = 2 }}
up_after = {{ runs = 2, succeeded = 2 }}
initial_state = "down"
check = [
  {{ type = "tcp", target = "127.0.0.1:{self.tcp_a.port}", timeout = "1s", source = "127.0.0.1" }},
  {{ type = "http", url = "http://127.0.0.1:{self.http_a.port}/health", expect_status = [200], body_contains = "hubrelay-ok", timeout = "1s" }},
  {{ type = "https", url = "https://127.0.0.1:{self.https_a.port}/health", ca_file = "{cert}", timeout = "2s" }},
  {{ type = "icmp", target = "127.0.0.1", count = 2, min_replies = 1, reply_timeout = "300ms", timeout = "1s" }},
  {{ type = "dns", server = "127.0.0.1:{self.dns_a.port}", name = "probe.example.net", timeout = "1s" }},
]

[path.site-b]
interval = "{INTERVAL}"
initial_state = "up"
check = [ {{ type = "tcp", target = "127.0.0.1:{self.tcp_b.port}", timeout = "1s" }} ]
"""
        path.write_text(text)
        self.config_path = path
        check = run_cli(["check-config", "--config", str(path)])
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.relay = self.start_relay(self.cfg, path)

    # -- helpers --
    def health(self):
        try:
            return json.loads((self.cfg.state_dir / "health.json").read_text())
        except (OSError, ValueError):
            return None

    def path_state(self, name):
        h = self.health()
        if not h:
            return None
        for p in h["paths"]:
            if p["name"] == name:
                return p["state"]
        return None

    def path_field(self, name, field):
        h = self.health()
        for p in (h or {}).get("paths", []):
            if p["name"] == name:
                return p[field]
        return None

    def send(self, tag, n=1):
        return send_batch(OUTBOUND_HOST, self.cfg.outbound_port, "carol@example.com",
                          [f"r{i}@elsewhere.example.org" for i in range(n)], tag)

    @staticmethod
    def ids(sink):
        return [message_id_of(m.raw) for m in sink.messages()]

    def alerts(self):
        return [m.raw.decode(errors="replace") for m in self.admin.messages()]

    # -- the tests --
    def test_reload_keeps_path_states_and_follows_the_new_hop_list(self):
        wait_for(lambda: self.path_state("site-a") == "UP", WAIT, "site-a UP after start (initial DOWN)")
        since = self.path_field("site-a", "since")
        transitions = self.path_field("site-a", "transitions")
        # The new configuration puts another hop first, so every hop index shifts by one:
        # judging hops with the old snapshot's indices would now be wrong.
        text = self.config_path.read_text()
        text = text.replace("[hop.a]\n", f'[hop.spare]\nhost = "127.0.0.1"\nport = {free_port()}\n\n[hop.a]\n', 1)
        self.config_path.write_text(text)
        check = run_cli(["check-config", "--config", str(self.config_path)])
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        marker = "SIGHUP: configuration reloaded"
        before = self.relay.log_text().count(marker)
        self.relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.relay.log_text().count(marker) > before, WAIT, "the reload in the relay log")

        # Carried over, not reset to initial_state = "down".
        self.assertEqual(self.path_state("site-a"), "UP")
        self.assertEqual(self.path_field("site-a", "since"), since)
        self.assertEqual(self.path_field("site-a", "transitions"), transitions)
        first = self.send("after-reload", 3)
        wait_for(lambda: set(first) <= set(self.ids(self.a)), WAIT, "mail at hop A after the reload")

        # The new monitor runs the checks and vetoes hop A by its new index.
        self.tcp_a.stop()
        self.http_a.stop()
        wait_for(lambda: self.path_state("site-a") == "DOWN", WAIT, "site-a DOWN after the reload")
        later = self.send("after-down", 3)
        wait_for(lambda: set(later) <= set(self.ids(self.b)), WAIT, "mail at hop B once site-a is DOWN")
        self.assertFalse(set(later) & set(self.ids(self.a)), "hop A got mail while its path was DOWN")

    def test_path_down_moves_mail_then_back(self):
        wait_for(lambda: self.path_state("site-a") == "UP", WAIT, "site-a UP after start (initial DOWN)")
        wait_for(lambda: self.path_state("site-b") == "UP", WAIT, "site-b UP")
        # The start-up DOWN -> UP change is alerted like any other .
        wait_for(lambda: any("site-a DOWN -> UP" in a for a in self.alerts()), WAIT,
                 "the start-up alert for site-a at the admin sink")

        first = self.send("before", 5)
        wait_for(lambda: set(first) <= set(self.ids(self.a)), WAIT, "5 messages at hop A")

        # Site A's "internet" dies: two of its five checks fail from now on.
        t_dead = time.monotonic()
        self.tcp_a.stop()
        self.http_a.stop()
        sent_probe = []
        moved_at = None
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            sent_probe += self.send("probe")
            if set(self.ids(self.b)) & set(sent_probe):
                moved_at = time.monotonic()
                break
            time.sleep(0.1)
        self.assertIsNotNone(moved_at, "mail never moved to hop B")
        print(f"\n[e2e] health: targets dead -> mail at hop B after {moved_at - t_dead:.2f}s "
              f"(interval {INTERVAL} x 2 runs)", file=sys.stderr)
        wait_for(lambda: self.path_state("site-a") == "DOWN", WAIT, "site-a DOWN in health.json")
        h = self.health()
        hop_a = [x for x in h["hops"] if x["name"] == "a"][0]
        self.assertFalse(hop_a["usable"])
        site_a = [p for p in h["paths"] if p["name"] == "site-a"][0]
        failed_labels = {c["check"] for c in site_a["runs"][-1]["checks"] if not c["ok"]}
        self.assertEqual(len(failed_labels), 2, site_a["runs"][-1])

        # After the change nothing goes to A; everything arrives exactly once somewhere.
        a_before = list(self.ids(self.a))
        after = self.send("after", 5)
        wait_for(lambda: set(after) <= set(self.ids(self.b)), WAIT, "5 post-DOWN messages at hop B")
        wait_for(lambda: set(sent_probe) <= set(self.ids(self.a)) | set(self.ids(self.b)), WAIT,
                 "every probe message at A or B")
        settle(1.0)
        self.assertEqual(self.ids(self.a), a_before, "hop A received mail after its path went DOWN")
        everything = self.ids(self.a) + self.ids(self.b)
        self.assertEqual(sorted(everything), sorted(set(everything)), "a message was delivered twice")
        self.assertTrue(set(first + sent_probe + after) <= set(everything), "a message was lost")

        # The alert mail and the hook.
        wait_for(lambda: any("site-a UP -> DOWN" in a for a in self.alerts()), WAIT, "the DOWN alert mail")
        alert = [a for a in self.alerts() if "site-a UP -> DOWN" in a][0]
        self.assertIn("Hops depending on it: a.", alert.replace("\r\n", "\n"))
        self.assertIn("FAILED", alert)
        wait_for(lambda: self.hook_log.exists() and "HUBRELAY_TO=DOWN" in self.hook_log.read_text(), WAIT,
                 "the hook run for the DOWN change")
        self.assertIn("HUBRELAY_PATH=site-a", self.hook_log.read_text())
        wait_for(lambda: "alert hook" in self.relay.log_text() and "hook saw site-a UP DOWN" in self.relay.log_text(),
                 WAIT, "the hook's output in the log")

        # The CLI.
        out = run_cli(["health", "--config", str(self.config_path)])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"site-a\s+DOWN")
        self.assertIn("NOT usable", out.stdout)
        js = run_cli(["health", "--json", "--config", str(self.config_path)])
        self.assertEqual(js.returncode, 0, js.stderr)
        self.assertIn("paths", json.loads(js.stdout))

        # Site A comes back: UP after 2 good runs, mail returns to A.
        self.tcp_a.start()
        self.http_a.start()
        wait_for(lambda: self.path_state("site-a") == "UP", WAIT, "site-a UP again")
        back = self.send("back", 3)
        wait_for(lambda: set(back) <= set(self.ids(self.a)), WAIT, "mail at hop A again")
        wait_for(lambda: any("site-a DOWN -> UP" in a for a in self.alerts()[1:]) or
                 sum("site-a DOWN -> UP" in a for a in self.alerts()) >= 2, WAIT, "the UP alert mail")

    def test_alert_test_command_and_hop_check(self):
        wait_for(lambda: self.path_state("hop:b") == "UP", WAIT, "hop b's own SMTP check UP")
        out = run_cli(["alert", "test", "--config", str(self.config_path)])
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        wait_for(lambda: any("(test)" in a for a in self.alerts()), WAIT, "the test alert at the admin sink")
        # Hop B's SMTP server dies: its own check takes it out of routing.
        self.b.kill()
        wait_for(lambda: self.path_state("hop:b") == "DOWN", WAIT, "hop:b DOWN")
        h = self.health()
        self.assertFalse([x for x in h["hops"] if x["name"] == "b"][0]["usable"])


class MaintenanceTest(E2ETestCase):
    """Inside a window no checks run, the forced state applies, and nothing is alerted."""

    def test_window_forces_state_without_checks_or_alerts(self):
        target = TcpTarget(free_port()).start()
        self.addCleanup(target.stop)
        a = self.start_sink("a")
        admin = self.start_sink("admin")
        cfg, path = self.make_config([Hop("a", a.port)], [Hop("a", a.port)])
        text = path.read_text().replace("[hop.a]\n", '[hop.a]\npaths = ["site-a"]\n', 1)
        # start == end: the whole day, every day (in UTC): always inside.
        text += f"""{admin_route(admin.port)}
[alerts]
to = ["ops@alerts.test"]

[path.site-a]
interval = "300ms"
initial_state = "up"
maintenance = [ {{ start = "00:00", end = "00:00", time_zone = "UTC" }} ]
maintenance_state = "down"
check = [ {{ type = "tcp", target = "127.0.0.1:{target.port}" }} ]
"""
        path.write_text(text)
        relay = self.start_relay(cfg, path)

        def site_a():
            try:
                h = json.loads((cfg.state_dir / "health.json").read_text())
            except (OSError, ValueError):
                return None
            return [p for p in h["paths"] if p["name"] == "site-a"][0]

        wait_for(lambda: (site_a() or {}).get("maintenance") and site_a()["state"] == "DOWN", WAIT,
                 "site-a in maintenance and forced DOWN")
        settle(1.5)  # several intervals
        p = site_a()
        self.assertEqual(p["runs"], [], "checks ran inside the maintenance window")
        self.assertEqual(p["state"], "DOWN")
        self.assertEqual(admin.messages(), [], "an alert was sent for a maintenance change")
        self.assertIn("enters maintenance", relay.log_text())


class InternalAlertRoutingTest(E2ETestCase):
    """Alert mail is routed like mail the relay relays: an administrator in one of our own
    domains gets it over the inbound route (the HUB hop), so it does not wait for the
    internet smart host whose path is the one going DOWN; an external administrator's
    copy still goes outbound."""

    def test_alert_for_an_internal_admin_arrives_at_the_hub_hop(self):
        hub = self.start_sink("hub")
        smarthost = self.start_sink("smarthost")
        admin = self.start_sink("admin")
        dead_port = free_port()  # the internet path's probe target: nothing listens
        cfg, path = self.make_config([Hop("hub", hub.port)], [Hop("smarthost", smarthost.port)])
        text = path.read_text().replace("[hop.smarthost]\n", '[hop.smarthost]\npaths = ["internet"]\n', 1)
        text += f"""{admin_route(admin.port)}
[alerts]
to = ["postmaster@{ACCEPTED_DOMAIN}", "ops@alerts.test"]
from = "hubrelay@relay.test"

[path.internet]
interval = "{INTERVAL}"
initial_state = "up"
down_after = {{ runs = 2, failed = 2 }}
check = [ {{ type = "tcp", target = "127.0.0.1:{dead_port}", timeout = "1s" }} ]
"""
        path.write_text(text)
        check = run_cli(["check-config", "--config", str(path)])
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.start_relay(cfg, path)

        def alerts_at(sink):
            return [m for m in sink.messages() if b"internet UP -> DOWN" in m.raw]

        internal = wait_for(lambda: alerts_at(hub), WAIT, "the DOWN alert for the internal admin at the HUB hop")
        self.assertEqual(internal[0].rcpt_tos, [f"postmaster@{ACCEPTED_DOMAIN}"])
        self.assertEqual(internal[0].mail_from, "hubrelay@relay.test")
        self.assertIn("Hops depending on it: smarthost.", internal[0].raw.decode(errors="replace").replace("\r\n", "\n"))
        external = wait_for(lambda: alerts_at(admin), WAIT, "the DOWN alert for the external admin")
        self.assertEqual(external[0].rcpt_tos, ["ops@alerts.test"])
        self.assertEqual(message_id_of(external[0].raw), message_id_of(internal[0].raw), "one alert, two envelopes")
        settle(1.0)
        self.assertEqual(len(alerts_at(hub)), 1, "the internal admin got the alert twice")
        self.assertEqual(smarthost.messages(), [], "alert mail went to the internet smart host")


class ParkedMailTest(E2ETestCase):
    """Mail that finds no usable hop is parked and moves the moment a hop is usable again.

    The relay's retry ladder and hop_backoff are both 60 s here, so before parking
    existed the messages would have waited about a minute after the path came back; the
    wait below is 30 s, so only the release on the path's DOWN -> UP change passes."""

    def setUp(self):
        super().setUp()
        self.target = TcpTarget(free_port())  # site-a's probe target: not listening yet
        self.addCleanup(self.target.stop)
        self.sink = self.start_sink("a")
        self.admin_port = free_port()
        hops = [Hop("a", self.sink.port)]
        self.cfg, path = self.make_config(
            hops, hops, hop_backoff="60s", retry_schedule=["60s", "120s"],
            extra_toml=f'[admin]\nlisten = "127.0.0.1:{self.admin_port}"')
        text = path.read_text().replace("[hop.a]\n", '[hop.a]\npaths = ["site-a"]\n', 1)
        text += f"""
[path.site-a]
interval = "{INTERVAL}"
initial_state = "down"
up_after = {{ runs = 1, succeeded = 1 }}
check = [ {{ type = "tcp", target = "127.0.0.1:{self.target.port}", timeout = "1s" }} ]
"""
        path.write_text(text)
        self.relay = self.start_relay(self.cfg, path)

    def test_parked_mail_is_released_when_the_path_comes_back(self):
        mids = []
        with smtp_connect(OUTBOUND_HOST, self.cfg.outbound_port) as s:
            for i in range(3):
                rcpt = f"r{i}@elsewhere.example.org"
                mid, msg = build_message(sender="carol@example.com", to=[rcpt], subject=f"parked {i}")
                smtp_transaction(s, "carol@example.com", [rcpt], msg)  # 250: committed
                mids.append(mid)
        wait_for(lambda: self.relay.log_text().count("parked_on=internet") >= 3, WAIT,
                 "three 'parked_on=internet' deferrals in the log")
        for line in self.relay.log_text().splitlines():
            if "parked_on=internet" in line:
                retry_in = int(line.rsplit("retry_in=", 1)[1].rstrip("s"))
                self.assertGreaterEqual(retry_in, 50, line)  # parked for long, not re-claimed
        settle(1.5)
        self.assertEqual(self.sink.messages(), [], "mail reached a hop whose path is DOWN")

        came_back = time.monotonic()
        self.target.start()
        wait_for(lambda: set(mids) <= {message_id_of(m.raw) for m in self.sink.messages()}, WAIT,
                 "the parked messages at hop a once site-a is UP")
        print(f"\n[e2e] parked: path back -> 3 parked messages delivered in "
              f"{time.monotonic() - came_back:.2f}s (hop_backoff and first retry 60 s)", file=sys.stderr)
        self.assertIn("route=internet has a usable hop again; released 3 parked recipients",
                      self.relay.log_text())
        ids = [message_id_of(m.raw) for m in self.sink.messages()]
        self.assertEqual(sorted(ids), sorted(mids), "each parked message exactly once")
        metrics = fetch_metrics(self.admin_port)
        self.assertEqual(metrics.get('hubrelay_recipients_parked_total{direction="outbound"}'), 3.0)
        self.assertEqual(metrics.get('hubrelay_recipients_released_total{direction="outbound"}'), 3.0)


class LiveHopStateTest(E2ETestCase):
    """No [path.NAME] tables (like conf/hubrelay.example.toml): a hop that refuses
    connections is ejected by passive health, and both `hubrelay health --json` and
    `hubrelay route explain` must say so from the daemon's live state."""

    def hop_entry(self, name):
        result = run_cli(["health", "--json", "--config", str(self.path)])
        if result.returncode != 0:
            return None
        for hop in json.loads(result.stdout)["hops"]:
            if hop["name"] == name:
                return hop
        return None

    def test_ejected_hop_is_reported_by_health_and_route_explain(self):
        good = self.start_sink("good")
        hub = self.start_sink("hub")
        dead_port = free_port()  # nothing listens: connections are refused
        # The dead hop is the only one of the cheapest tier: every first attempt goes there.
        self.cfg, self.path = self.make_config([Hop("hub", hub.port)],
                                               [Hop("dead", dead_port), Hop("good", good.port, cost=20)],
                                               hop_backoff="120s")
        relay = self.start_relay(self.cfg, self.path)
        explain = ["route", "explain", "bob@elsewhere.example.org", "--config", str(self.path)]
        before = run_cli(explain)
        self.assertIn("daemon state written", before.stdout)
        self.assertIn("try order:  dead -> good", before.stdout)

        with smtp_connect(OUTBOUND_HOST, self.cfg.outbound_port) as s:
            mid, msg = build_message(sender="carol@example.com", to=["bob@elsewhere.example.org"],
                                     subject="eject")
            smtp_transaction(s, "carol@example.com", ["bob@elsewhere.example.org"], msg)
        wait_for(lambda: mid in {message_id_of(m.raw) for m in good.messages()}, WAIT,
                 "the message at the good hop after the dead one refused")

        # Within a few seconds of the ejection, the state file says so.
        wait_for(lambda: (self.hop_entry("dead") or {}).get("state") == "ejected", WAIT,
                 "`hubrelay health --json` showing the dead hop ejected")
        dead = self.hop_entry("dead")
        self.assertFalse(dead["usable"], dead)
        self.assertTrue(dead["ejected"], dead)
        self.assertGreater(dead["ejected_until"], 0, dead)
        self.assertEqual(self.hop_entry("good")["state"], "usable")
        text = run_cli(["health", "--config", str(self.path)])
        self.assertIn("NOT usable: ejected until", text.stdout)

        after = run_cli(explain)
        self.assertEqual(after.returncode, 0, after.stderr)
        self.assertIn("daemon state written", after.stdout)
        dead_line = next(line for line in after.stdout.splitlines() if line.strip().startswith("tier") and " dead " in line)
        self.assertIn("ejected", dead_line)
        self.assertNotIn(" up ", dead_line)
        self.assertIn("try order:  good", after.stdout)

        # A stopped daemon has no state: explain says so instead of guessing.
        relay.stop()
        stopped = run_cli(explain)
        self.assertEqual(stopped.returncode, 0, stopped.stderr)
        self.assertIn("daemon state not available:", stopped.stdout)
        self.assertIn("showing configuration only", stopped.stdout)
        self.assertIn("try order:  dead -> good", stopped.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)

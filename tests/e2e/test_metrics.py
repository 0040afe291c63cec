#!/usr/bin/python3
"""tests/e2e/test_metrics.py — the status page, /metrics, /api/status and the CLI tell one truth.

Owns: a hop whose health path is DOWN is `path down` (never "up"), and one whose path is
forced DOWN in a maintenance window is `suspended`, in /metrics
(hubrelay_hop_state one-hot, hubrelay_hop_up 0), /api/status, the rendered status page,
`hubrelay health` and `hubrelay stats`; a connect-refused hop, a hop whose required STARTTLS fails and a
hop answering 5xx each count attempts and failures in one unit (failures of class
connect, tls and reply_5xx; successes + failures = attempts); queue gauges carry the
message's direction; hubrelay_build_info names the version `hubrelay --version` prints;
hubrelay_node_info, /api/status, the page's summary and the start-up log name the node
(default: the host name) and its queue backend;
the page passes `promtool check metrics` when Debian's prometheus package is installed.
Never: asserts timing; every wait is bounded.
Standards: Prometheus text exposition format 0.0.4.
"""

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (OUTBOUND_HOST, E2ETestCase, Hop, free_port, hop_toml, parse_metrics,  # noqa: E402
                     route_toml, run_cli, send_mail, build_message, wait_for)

WAIT = 40.0


class OneTruthTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.hub = self.start_sink("hub")
        self.perm = self.start_sink("perm", modes=["permfail"])
        self.admin_port = free_port("127.0.0.1")
        dead = free_port("127.0.0.1")  # nothing listens: connect refused
        # Each domain has a route with one hop, so each message meets exactly one fault.
        hops = {
            "refused": Hop("refused", dead),
            "tlsreq": Hop("tlsreq", self.hub.port, extra=['tls = "required"']),  # the sink offers no STARTTLS
            "perm": Hop("perm", self.perm.port),
            "down": Hop("down", self.hub.port, extra=['paths = ["wan"]']),
            "planned": Hop("planned", self.hub.port, extra=['paths = ["works"]']),
        }
        routes = []
        for domain, hop in (("refused.example", "refused"), ("tls.example", "tlsreq"),
                            ("perm.example", "perm"), ("down.example", "down"), ("planned.example", "planned")):
            routes += [*hop_toml(hops[hop]), "", *route_toml(hop, "outbound", [domain], [hops[hop]]), ""]
        wan = f"""
[path.wan]
interval = "300ms"
initial_state = "up"
check = [ {{ type = "tcp", target = "127.0.0.1:{free_port()}", timeout = "1s" }} ]

# In maintenance all day (start == end), forced DOWN: its hop is suspended, not path down.
[path.works]
interval = "300ms"
maintenance = [ {{ start = "00:00", end = "00:00" }} ]
maintenance_state = "down"
check = [ {{ type = "tcp", target = "127.0.0.1:{self.hub.port}", timeout = "1s" }} ]

[admin]
listen = "127.0.0.1:{self.admin_port}"
"""
        self.cfg, self.config_path = self.make_config(
            [Hop("hub", self.hub.port)], [Hop("smart", self.hub.port)],
            extra_routes="\n".join(routes), extra_toml=wan)
        self.relay = self.start_relay(self.cfg, self.config_path)

    def http(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}", timeout=10) as resp:
            return resp.read().decode()

    def metrics(self):
        return parse_metrics(self.http("/metrics"))

    def test_a_hop_whose_path_is_down_is_path_down_everywhere(self):
        states = ("usable", "path down", "check down", "suspended", "ejected")

        def down_in_metrics():
            m = self.metrics()
            return m if m.get('hubrelay_hop_state{hop="down",state="path down"}') == 1 else None
        m = wait_for(down_in_metrics, WAIT, "hop down in state path down in /metrics")
        self.assertEqual(m['hubrelay_hop_up{hop="down"}'], 0)
        for state in states:  # one-hot
            self.assertEqual(m[f'hubrelay_hop_state{{hop="down",state="{state}"}}'], 1 if state == "path down" else 0)
        self.assertEqual(m['hubrelay_hop_up{hop="smart"}'], 1)
        self.assertEqual(m['hubrelay_hop_state{hop="smart",state="usable"}'], 1)
        self.assertEqual(m['hubrelay_hop_state{hop="planned",state="suspended"}'], 1)
        self.assertEqual(m['hubrelay_hop_up{hop="planned"}'], 0)

        status = json.loads(self.http("/api/status"))
        hop = {h["name"]: h for h in status["hops"]}["down"]
        self.assertEqual((hop["state"], hop["usable"]), ("path down", False), hop)
        self.assertIn("wan:", hop["last_error"])

        def health_says_path_down():
            r = run_cli(["health", "--json", "--config", str(self.config_path)])
            if r.returncode != 0:
                return None
            hops = {h["name"]: h["state"] for h in json.loads(r.stdout)["hops"]}
            return hops if hops.get("down") == "path down" else None
        wait_for(health_says_path_down, WAIT, "hubrelay health says path down")
        stats = run_cli(["stats", "--config", str(self.config_path)])
        self.assertEqual(stats.returncode, 0, stats.stderr)
        rows = {line.split()[0]: line for line in stats.stdout.splitlines() if line.strip()}
        self.assertRegex(rows["down"], r"^down +path down +\d+ +\d+ +\d+$", stats.stdout)
        self.assertRegex(rows["smart"], r"^smart +usable ", stats.stdout)
        self.assertRegex(rows["planned"], r"^planned +suspended ", stats.stdout)

        page = self.render_page()
        if page is not None:
            self.assertRegex(page, r'<td>down</td><td><span class="hop-state path-down" data-state="path down">path down')
            self.assertIn('data-state="usable">usable</span>', page)
            self.assertNotIn('class="up">up</span></td><td>', page)  # the old passive-only word
            # The summary line names the node and its queue backend, as /api/status does.
            self.assertIn(f"node {status['node']} (queue sqlite)", page)

    def test_attempts_and_failures_count_in_one_unit(self):
        for domain in ("refused.example", "tls.example", "perm.example"):
            _, msg = build_message(to=[f"x@{domain}"], subject=domain)
            send_mail(OUTBOUND_HOST, self.cfg.outbound_port, "carol@example.com", [f"x@{domain}"], msg)

        def counted():
            m = self.metrics()
            want = ('hubrelay_hop_failures_total{hop="refused",class="connect"}',
                    'hubrelay_hop_failures_total{hop="tlsreq",class="tls"}',
                    'hubrelay_hop_failures_total{hop="perm",class="reply_5xx"}')
            return m if all(m.get(k, 0) >= 1 for k in want) else None
        m = wait_for(counted, WAIT, "a connect, a tls and a reply_5xx failure in /metrics")
        for hop in ("refused", "tlsreq", "perm", "smart", "down", "planned"):
            attempts = m[f'hubrelay_hop_attempts_total{{hop="{hop}"}}']
            successes = m[f'hubrelay_hop_successes_total{{hop="{hop}"}}']
            failures = sum(v for k, v in m.items() if k.startswith(f'hubrelay_hop_failures_total{{hop="{hop}",'))
            self.assertGreaterEqual(attempts, failures, hop)
            self.assertEqual(successes + failures, attempts, hop)
        # No TLS failure is filed under connect.
        self.assertNotIn('hubrelay_hop_failures_total{hop="tlsreq",class="connect"}', m)
        # The messages waiting for refused and tlsreq are outbound ones.
        wait_for(lambda: (lambda q: q if q.get('hubrelay_queue_messages{direction="outbound",state="deferred"}', 0) >= 2
                          else None)(self.metrics()), WAIT, "two outbound messages deferred in /metrics")
        m = self.metrics()
        self.assertNotIn('hubrelay_queue_messages{state="deferred"}', m)
        self.assertIn('hubrelay_queue_messages{direction="inbound",state="deferred"}', m)

    def test_build_info_and_promtool(self):
        version = run_cli(["--version"]).stdout.split()[1]
        text = self.http("/metrics")
        info = [line for line in text.splitlines() if line.startswith("hubrelay_build_info{")]
        self.assertEqual(len(info), 1, info)
        self.assertIn(f'version="{version}"', info[0])
        self.assertTrue(info[0].endswith("} 1"), info[0])
        self.assertIn(f'hubrelay {version} ready', self.relay.log_text())
        # One info series names the node (default: the host name) and its queue backend.
        node = [line for line in text.splitlines() if line.startswith("hubrelay_node_info{")]
        self.assertEqual(len(node), 1, node)
        status = json.loads(self.http("/api/status"))
        self.assertEqual(status["node"], socket.gethostname())
        self.assertEqual(status["queue_backend"], "sqlite")
        self.assertEqual(node[0], f'hubrelay_node_info{{node="{status["node"]}",queue_backend="sqlite"}} 1')
        self.assertIn(f'node={status["node"]} queue=sqlite', self.relay.log_text())
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool is not installed (Debian package prometheus)")
        checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                                 timeout=60)
        # promtool exits 1 for lint findings too; only an unparsable page is an error here.
        self.assertNotIn("error while linting", checked.stderr + checked.stdout, checked.stderr)
        lint = [line for line in (checked.stdout + checked.stderr).splitlines() if line.strip()]
        self.assertEqual(lint, [], "\n".join(lint))

    def render_page(self):
        """The status page's DOM after its script ran in headless Chromium; None without it."""
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if not browser:
            return None
        profile = tempfile.mkdtemp(prefix="hubrelay-chromium-", dir=self.dir)
        flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--dump-dom", f"http://127.0.0.1:{self.admin_port}/"]
        dom = subprocess.run(flags, capture_output=True, text=True, timeout=120)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        self.assertIn('data-rendered="yes"', dom.stdout)
        return dom.stdout


if __name__ == "__main__":
    unittest.main()

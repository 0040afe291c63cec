#!/usr/bin/python3
"""tests/e2e/test_operations.py — operating hubrelay: queue CLI, metrics, stats, reload, status page.

Owns: the operator's contract against the real binary: messages held by a dead
hop show up in `hubrelay queue list --json` with state and last reply; `hold` keeps one
from delivery after the hop returns and `release` delivers it; `delete` removes one;
`summary` counts match; `bounce`/`expire` send the sender exactly one DSN whether the
daemon runs or is started later (none for <> or NOTIFY=NEVER) and free the body; the
same commands work with the daemon stopped; bad ids and
filters exit 1 with a clear message; /metrics counters equal exactly the traffic sent
through each listener; `hubrelay stats` reports per-direction rates; SIGHUP with a
changed route sends new mail to the new hop while a slow session in progress completes;
a dead hop's real error (connection refused, with the hop's name and address) is in
`queue list`, `queue show`, /api/queue, the status page and health.json, the attempt count
is real and the log has one line for a hop failure that hit a batch of messages;
SIGHUP with a broken configuration keeps the old one, and so does one whose DNS resolver
cannot be created (c-ares failing its initialisation, provoked by a test-only LD_PRELOAD
shim); SIGTERM drains; [relay] user drops
root after binding; health path states (a TCP check UP, one DOWN) appear in /metrics,
/api/status and the status page with the hop depending on them; the status page renders its charts
with data in headless Chromium (screenshot kept under the build's artifacts/ directory).
Never: asserts timing; every wait is bounded.
Standards: RFC 5321 (sessions), Prometheus text exposition format 0.0.4.
"""

import json
import os
import unittest.mock
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_health import TcpTarget  # noqa: E402  (a listener for a TCP path check)
from harness import (INBOUND_HOST, OUTBOUND_HOST, E2ETestCase, Hop, RawSmtp,  # noqa: E402
                     build_message, free_port, message_id_of, port_accepts, relay_binary, run_cli,
                     parse_metrics, send_batch, send_mail, settle, smtp_connect,
                     stuff, wait_for)

WAIT = 40.0
DEAD_DOMAIN = "dead.example.org"

# Test-only interposer for c-ares (never part of the product): ares_init_options answers
# ARES_ENOMEM (15), as c-ares does when it cannot set up a channel, while the file named
# by HUBRELAY_TEST_ARES_FAIL exists. c-ares 1.18 has no configuration-driven failure the
# loader would let through (resolv.conf errors fall back to defaults; every server string
# the loader accepts is accepted by ares_set_servers_ports_csv), hence the shim.
ARES_FAIL_SHIM = r'''
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>
typedef int (*init_options_fn)(void*, void*, int);
int ares_init_options(void* channel, void* options, int mask) {
  const char* flag = getenv("HUBRELAY_TEST_ARES_FAIL");
  if (flag != NULL && access(flag, F_OK) == 0) return 15;
  init_options_fn real = (init_options_fn)dlsym(RTLD_NEXT, "ares_init_options");
  return real(channel, options, mask);
}
'''


def build_ares_fail_shim(directory):
    """Compiles ARES_FAIL_SHIM into directory/ares_fail.so; None when that is impossible
    (no C compiler, or a sanitizer build whose runtime must come first in LD_PRELOAD)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    ldd = subprocess.run(["ldd", relay_binary()], capture_output=True, text=True)
    if "libasan" in ldd.stdout or "libcares" not in ldd.stdout:
        return None
    source, shim = Path(directory) / "ares_fail.c", Path(directory) / "ares_fail.so"
    source.write_text(ARES_FAIL_SHIM)
    built = subprocess.run([compiler, "-shared", "-fPIC", "-o", str(shim), str(source), "-ldl"],
                           capture_output=True, timeout=60)
    return shim if built.returncode == 0 else None


def admin_toml(port, token=""):
    text = f'[admin]\nlisten = "127.0.0.1:{port}"'
    if token:
        text += f'\ntoken = "{token}"'
    return text


def artifacts_dir():
    """<build>/artifacts, the build being the directory two levels above the binary."""
    path = Path(relay_binary()).resolve().parent.parent / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


class OperationsTestCase(E2ETestCase):
    def cli(self, *args, config=None):
        return run_cli(["queue", *args, "--config", str(config or self.config_path)])

    def queue_json(self, *args):
        r = self.cli("list", "--json", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def http(self, path, token=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}{path}")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read().decode()

    def send_outbound(self, n, domain, tag):
        return send_batch(OUTBOUND_HOST, self.cfg.outbound_port, "carol@example.com",
                          [f"user{i}@{domain}" for i in range(n)], tag)


class QueueCliTest(OperationsTestCase):
    def setUp(self):
        super().setUp()
        self.hub = self.start_sink("hub")
        self.dead_port = free_port("127.0.0.1")  # nothing listens here yet
        self.admin_port = free_port("127.0.0.1")
        self.cfg, self.config_path = self.make_config(
            [Hop("hub", self.hub.port)], [Hop("upstream", self.dead_port)],
            extra_toml=admin_toml(self.admin_port))
        self.relay = self.start_relay(self.cfg, self.config_path)

    def wait_deferred(self, n):
        def deferred():
            rows = self.queue_json("--state", "deferred")
            return rows if len(rows) == n and all(r["recipients"][0]["last_reply"] for r in rows) else None
        return wait_for(deferred, WAIT, f"{n} deferred messages in queue list")

    def test_dead_hop_hold_release_delete_summary(self):
        mids = self.send_outbound(3, DEAD_DOMAIN, "held-by-dead-hop")
        rows = self.wait_deferred(3)
        for row in rows:
            self.assertEqual(row["direction"], "outbound")
            self.assertEqual(row["listener"], "outbound")
            self.assertEqual(row["state"], "deferred")
            rcpt = row["recipients"][0]
            self.assertEqual(rcpt["state"], "pending")
            self.assertIn("4.4.1", rcpt["last_reply"])  # connection to the hop failed
        ids = [r["id"] for r in rows]
        keep, gone, free = ids

        # summary: every pending message counted under its recipient domain.
        r = self.cli("summary")
        self.assertEqual(r.returncode, 0, r.stderr)
        print("\n[queue summary]\n" + r.stdout, file=sys.stderr)
        lines = {l.split()[0]: l.split() for l in r.stdout.splitlines()[1:]}
        self.assertEqual(lines["TOTAL"][1], "3")
        self.assertEqual(lines[DEAD_DOMAIN][1], "3")
        summary = [json.loads(l) for l in self.cli("summary", "--json").stdout.splitlines()]
        self.assertEqual(summary[0]["total"], 3)

        # show: envelope, recipients, attempts history.
        shown = json.loads(self.cli("show", keep, "--json").stdout)
        self.assertTrue(shown["attempts"])
        self.assertTrue(all("4.4.1" in a["reply"] for a in shown["attempts"]), shown["attempts"])
        eml = self.cli("show", keep, "--eml").stdout
        self.assertIn("Received:", eml)

        r = self.cli("hold", keep)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('action="hold"', r.stderr)  # audit line (no log file: stderr)
        self.assertIn("uid=", r.stderr)
        r = self.cli("delete", gone)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1 message(s)", r.stdout)

        # The hop comes back: the free message is delivered, the held one is not.
        upstream = self.start_sink("upstream", port=self.dead_port)
        wait_for(lambda: len(upstream.messages()) >= 1, WAIT, "the free message at the upstream")
        settle(4)  # several scanner passes and retry times
        got = {message_id_of(m.raw) for m in upstream.messages()}
        self.assertEqual(len(got), 1, got)
        held = self.queue_json("--state", "held")
        self.assertEqual([r["id"] for r in held], [keep])

        r = self.cli("release", keep)
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: len(upstream.messages()) >= 2, WAIT, "the released message at the upstream")
        settle(2)
        got = [message_id_of(m.raw) for m in upstream.messages()]
        self.assertEqual(len(got), 2, got)  # the deleted one never arrives, nothing twice
        self.assertEqual(len(set(got)), 2)
        self.assertEqual(set(got), {mids[ids.index(keep)], mids[ids.index(free)]})
        wait_for(lambda: self.queue_json() == [], WAIT, "an empty queue")
        self.assertEqual(len(self.queue_json("--state", "delivered")), 2)

    def test_quoted_local_part_with_at_is_filed_under_its_routed_domain(self):
        # The domain follows the LAST '@', as routing reads it: `list --domain` and
        # `summary` must file this recipient under DEAD_DOMAIN, not under 'b"@...'.
        rcpt = f'"a@b"@{DEAD_DOMAIN}'
        _, msg = build_message(sender="carol@example.com", to=[rcpt], subject="quoted local part")
        send_mail(OUTBOUND_HOST, self.cfg.outbound_port, "carol@example.com", [rcpt], msg)
        self.wait_deferred(1)
        rows = self.queue_json("--domain", DEAD_DOMAIN)
        self.assertEqual([r["recipients"][0]["address"] for r in rows], [rcpt])
        r = self.cli("summary")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = {l.split()[0]: l.split() for l in r.stdout.splitlines()[1:]}
        self.assertEqual(lines[DEAD_DOMAIN][1], "1", r.stdout)

    def test_commands_with_the_daemon_stopped(self):
        self.send_outbound(2, DEAD_DOMAIN, "offline")
        self.wait_deferred(2)
        self.assertEqual(self.relay.stop(), 0)
        rows = self.queue_json()
        self.assertEqual(len(rows), 2)
        a, b = (r["id"] for r in rows)
        self.assertEqual(self.cli("hold", a).returncode, 0)
        self.assertEqual([r["id"] for r in self.queue_json("--state", "held")], [a])
        self.assertEqual(self.cli("release", a).returncode, 0)
        self.assertEqual(self.queue_json("--state", "held"), [])
        r = self.cli("delete", "--bounce", b)
        self.assertEqual(r.returncode, 0, r.stderr)
        failed = self.queue_json("--state", "failed")
        self.assertEqual(failed[0]["recipients"][0]["last_reply"], "550 5.0.0 deleted by administrator")
        # The DSN to the sender was queued with it; delete that too for an empty queue.
        dsn = [r["id"] for r in self.queue_json() if r["sender"] == "" and r["id"] != a]
        self.assertEqual(len(dsn), 1, self.queue_json())
        self.assertEqual(self.cli("delete", dsn[0]).returncode, 0)
        self.assertEqual(self.cli("delete", a).returncode, 0)
        self.assertEqual(self.queue_json(), [])
        r = self.cli("summary")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[1].split()[:2], ["TOTAL", "0"])
        r = self.cli("retry", "--all")
        self.assertEqual(r.returncode, 0, r.stderr)

    # -- administrator bounces: the DSN is queued with the command, delivered once --

    def dsns_at_hub(self, original_mid):
        """DSNs at the sender's hop (carol@example.com is in an accepted domain: inbound)
        that report on the message `original_mid`."""
        return [m for m in self.hub.messages()
                if m.mail_from in ("", "<>") and b"multipart/report" in m.raw
                and original_mid.encode() in m.raw]

    def assert_one_dsn(self, original_mid, reply):
        wait_for(lambda: self.dsns_at_hub(original_mid), WAIT, "the DSN at the sender's hop")
        settle(3)  # several scanner passes: a second DSN would show up now
        dsns = self.dsns_at_hub(original_mid)
        self.assertEqual(len(dsns), 1, [m.name for m in dsns])
        self.assertEqual(dsns[0].rcpt_tos, ["carol@example.com"])
        self.assertIn(reply.encode(), dsns[0].raw)
        wait_for(lambda: self.queue_json() == [], WAIT, "no pending message (the DSN delivered)")

    def assert_body_freed(self, qid):
        shown = json.loads(self.cli("show", qid, "--json").stdout)
        self.assertFalse(shown["body_stored"], shown)
        self.assertTrue(all(r["state"] != "pending" for r in shown["recipients"]), shown)

    def test_bounce_while_the_daemon_runs_sends_one_dsn(self):
        (mid,) = self.send_outbound(1, DEAD_DOMAIN, "bounced-live")
        (row,) = self.wait_deferred(1)
        r = self.cli("bounce", row["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_one_dsn(mid, "550 5.0.0 bounced by administrator")
        self.assertIn("dsn_queued=1", r.stderr)  # audit line
        self.assert_body_freed(row["id"])

    def test_bounce_and_expire_with_the_daemon_stopped_send_one_dsn_each_after_start(self):
        bounced, expired = self.send_outbound(2, DEAD_DOMAIN, "bounced-offline")
        # No report for a null sender, nor for a recipient with NOTIFY=NEVER (RFC 3461).
        with smtp_connect(OUTBOUND_HOST, self.cfg.outbound_port) as s:
            for sender, options in (("", []), ("carol@example.com", ["NOTIFY=NEVER"])):
                rcpt = f"quiet@{DEAD_DOMAIN}"
                _, msg = build_message(sender=sender or "postmaster@example.com", to=[rcpt], subject="quiet")
                self.assertEqual(s.mail(sender)[0], 250)
                self.assertEqual(s.rcpt(rcpt, options)[0], 250)
                self.assertEqual(s.data(msg)[0], 250)
        rows = self.wait_deferred(4)
        self.assertEqual(self.relay.stop(), 0)
        ids = [r["id"] for r in rows]  # in arrival order
        self.assertEqual(self.cli("bounce", ids[0], ids[2], ids[3]).returncode, 0)
        r = self.cli("expire", ids[1])
        self.assertEqual(r.returncode, 0, r.stderr)
        # Queued by the commands themselves, not by a daemon: two DSNs, nothing else pending.
        pending = self.queue_json()
        self.assertEqual(sorted((p["sender"], p["recipients"][0]["address"]) for p in pending),
                         [("", "carol@example.com")] * 2, pending)
        for qid in ids:
            self.assert_body_freed(qid)
        self.relay = self.start_relay(self.cfg, self.config_path)
        self.assert_one_dsn(bounced, "550 5.0.0 bounced by administrator")
        self.assert_one_dsn(expired, "4.4.7")
        self.assertEqual(len([m for m in self.hub.messages() if m.mail_from in ("", "<>")]), 2)

    def test_missing_messages_exit_1_and_bad_words_exit_2(self):
        # Operational: the words are right but the queue has no such message.
        for args, expect in ((["show", "FFFFFF"], "no message with queue id"),
                             (["hold", "ABC123"], "no message with queue id")):
            r = self.cli(*args)
            self.assertEqual(r.returncode, 1, f"{args}: {r.stdout} {r.stderr}")
            self.assertIn(expect, r.stderr, args)
        # Usage: malformed ids, values and options, missing arguments.
        for args, expect in ((["show", "zzz"], "not a queue id"),
                             (["list", "--state", "sleeping"], "unknown state"),
                             (["list", "--older", "yesterday"], "not an age"),
                             (["list", "--colour", "blue"], "unknown option --colour"),
                             (["retry"], "needs queue ids")):
            r = self.cli(*args)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stdout} {r.stderr}")
            self.assertIn(expect, r.stderr, args)

    def test_queue_api_over_http(self):
        self.send_outbound(1, DEAD_DOMAIN, "api")
        self.wait_deferred(1)
        lines = self.http("/api/queue?state=deferred").splitlines()
        self.assertEqual(len(lines), 1)
        self.assertEqual(json.loads(lines[0])["state"], "deferred")


class DeadHopErrorTest(OperationsTestCase):
    """A hop refusing connections: the real error is recorded and shown everywhere.

    The only outbound hop points at a closed loopback port. After a restart the scanner
    claims the whole backlog in one pass, so one connection failure hits every message:
    the log has one line for it (naming the hop, the fault and the count), not one per
    message. `queue show`, `queue list`, /api/queue and health.json all carry
    "Connection refused" with the hop's name, the attempt count is real (> 0), and a
    recipient waiting for the route says so (parked on route internet) without losing the
    error."""

    def test_the_real_error_per_recipient_per_hop_and_once_in_the_log(self):
        dead_port = free_port("127.0.0.1")  # nothing listens here
        self.admin_port = free_port("127.0.0.1")
        hub = self.start_sink("hub")
        # Long backoff: no ejection ends (no trial) while the test looks.
        self.cfg, self.config_path = self.make_config(
            [Hop("hub", hub.port)], [Hop("upstream", dead_port)], hop_backoff="60s",
            retry_schedule=["60s"], log_level="info", extra_toml=admin_toml(self.admin_port))
        relay = self.start_relay(self.cfg, self.config_path)
        n = 5
        self.send_outbound(n, DEAD_DOMAIN, "dead-hop")
        wait_for(lambda: len(self.queue_json("--state", "deferred")) == n, WAIT, f"{n} deferred messages")
        # The first message's connection failed and ejected the hop; the others were parked
        # without a try of their own: their line gives the park's text, with the hop's error.
        first = self.cli("list")
        print("[queue list, first run]\n" + first.stdout, file=sys.stderr)
        for line in (l for l in first.stdout.splitlines() if l.startswith("    <")):
            self.assertIn("Connection refused", line)
        self.assertEqual(relay.stop(), 0)

        # Restart: recovery makes all of them due at once, one claim submits them together.
        relay = self.start_relay(self.cfg, self.config_path)
        batch = re.compile(r"hop=upstream failed: .*Connection refused.*; (\d+) recipient\(s\) in (\d+) message\(s\)")
        wait_for(lambda: batch.search(relay.log_text()), WAIT, "the hop failure line of the batch")
        wait_for(lambda: relay.log_text().count("parked_on=internet") >= n, WAIT, "every recipient parked")
        failures = [l for l in relay.log_text().splitlines() if " warning hop=upstream failed" in l]
        print("\n[e2e] " + "\n[e2e] ".join(failures), file=sys.stderr)
        self.assertEqual(len(failures), 1, failures)  # one line for the hop event, not one per message
        recipients, messages = map(int, batch.search(failures[0]).groups())
        self.assertEqual((recipients, messages), (n, n), failures[0])

        # queue list: the compact line per recipient names the hop, the error and the park.
        listed = self.cli("list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        print("[queue list]\n" + listed.stdout, file=sys.stderr)
        waiting = [l for l in listed.stdout.splitlines() if l.startswith("    <")]
        self.assertEqual(len(waiting), n, listed.stdout)
        for line in waiting:
            self.assertIn("hop=upstream", line)
            self.assertIn("Connection refused", line)
            self.assertIn("parked on route internet since ", line)

        # /api/queue: the same per recipient, and real attempts.
        rows = [json.loads(l) for l in self.http("/api/queue?state=deferred").splitlines() if l.strip()]
        self.assertEqual(len(rows), n)
        for row in rows:
            rcpt = row["recipients"][0]
            self.assertGreater(rcpt["attempts"], 0, rcpt)
            self.assertEqual(rcpt["hop"], "upstream")
            self.assertIn("Connection refused", rcpt["last_reply"])
            self.assertIn(f"127.0.0.1:{dead_port}", rcpt["last_reply"])
            self.assertEqual(rcpt["parked_on"], "internet")

        # queue show: the full history, each attempt with hop and address, the parks.
        qid = rows[0]["id"]
        shown = self.cli("show", qid)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        print(f"[queue show {qid}]\n" + shown.stdout, file=sys.stderr)
        self.assertIn(f"attempt hop=upstream (127.0.0.1:{dead_port}) pending", shown.stdout)
        self.assertIn("Connection refused", shown.stdout)
        self.assertIn("parked pending \"451 4.4.1 No healthy next hop available (route internet: upstream ejected until",
                      shown.stdout)
        self.assertIn("waiting:    parked on route internet since ", shown.stdout)
        history = json.loads(self.cli("show", qid, "--json").stdout)["attempts"]
        tries = [a for a in history if a["kind"] == "delivery"]
        self.assertGreaterEqual(len(tries), 2, history)  # once per run of the daemon
        self.assertTrue(all(a["hop"] == "upstream" and a["address"] == f"127.0.0.1:{dead_port}" for a in tries), history)

        # /api/queue/ID: the same history through the admin API.
        one = json.loads(self.http(f"/api/queue/{qid}"))
        self.assertEqual(one["id"], qid)
        self.assertTrue(any(a["kind"] == "delivery" and "Connection refused" in a["reply"] for a in one["attempts"]),
                        one["attempts"])
        self.assertTrue(any(a["kind"] == "parked" for a in one["attempts"]), one["attempts"])

        # The status page's queue section carries the same per-recipient data, rendered.
        page = self.http("/")
        self.assertIn('id="waiting-data"', page)
        self.assertIn("Connection refused", page)
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if browser:
            profile = tempfile.mkdtemp(prefix="hubrelay-chromium-", dir=self.dir)
            dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                  "--disable-background-networking", "--disable-component-update",
                                  f"--user-data-dir={profile}", "--dump-dom", f"http://127.0.0.1:{self.admin_port}/"],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
            self.assertIn('data-rendered="yes"', dom.stdout)
            self.assertRegex(dom.stdout, r'<td>upstream</td><td>[^<]*Connection refused</td><td>internet since ')
            print("[status page] rendered the waiting recipients: "
                  f"{dom.stdout.count('Connection refused')} cell(s) with the error", file=sys.stderr)

        # health.json / health.txt: the hop's last error and when, within a second.
        state = self.cfg.state_dir / "health.json"
        def hop_state():
            try:
                hops = json.loads(state.read_text())["hops"]
            except (OSError, ValueError):
                return None
            hop = next((h for h in hops if h["name"] == "upstream"), None)
            return hop if hop and "Connection refused" in hop.get("last_error", "") else None
        hop = wait_for(hop_state, WAIT, "the hop's last error in health.json")
        self.assertEqual(hop["state"], "ejected")
        self.assertGreater(hop["last_error_at"], 0)
        self.assertIn(f"127.0.0.1:{dead_port}", hop["last_error"])
        # health.txt is written just after health.json: wait for it too.
        text_file = self.cfg.state_dir / "health.txt"
        def written():
            t = text_file.read_text()
            return t if "last error at " in t else None
        text = wait_for(written, WAIT, "the hop's last error in health.txt")
        print("[health.txt]\n" + text, file=sys.stderr)
        self.assertIn("Connection refused", text)
        explained = run_cli(["route", "explain", "someone@" + DEAD_DOMAIN, "--config", str(self.config_path)])
        print("[route explain]\n" + explained.stdout, file=sys.stderr)
        self.assertIn("upstream", explained.stdout)
        self.assertIn("Connection refused", explained.stdout)
        self.assertIn("ejected until", explained.stdout)


class MetricsTest(OperationsTestCase):
    def setUp(self):
        super().setUp()
        self.sink = self.start_sink("hub")
        self.admin_port = free_port("127.0.0.1")
        self.token = "t0ken-e2e"
        self.cfg, self.config_path = self.make_config(
            [Hop("hub", self.sink.port)], [Hop("smarthost", self.sink.port)],
            extra_toml=admin_toml(self.admin_port, self.token))
        # Health paths for the admin endpoint: "lan" (smarthost depends on it) checks
        # a listener this test opens, "gone" a port nobody listens on and no hop uses.
        self.lan = TcpTarget(free_port()).start()
        self.addCleanup(self.lan.stop)
        text = self.config_path.read_text().replace("[hop.smarthost]\n", '[hop.smarthost]\npaths = ["lan"]\n', 1)
        text += f"""
[path.lan]
interval = "300ms"
initial_state = "up"
check = [ {{ type = "tcp", target = "127.0.0.1:{self.lan.port}", timeout = "1s" }} ]

[path.gone]
interval = "300ms"
initial_state = "up"
check = [ {{ type = "tcp", target = "127.0.0.1:{free_port()}", timeout = "1s" }} ]
"""
        self.config_path.write_text(text)
        self.relay = self.start_relay(self.cfg, self.config_path)

    def metrics(self):
        return parse_metrics(self.http("/metrics", token=self.token))

    def test_metrics_match_the_traffic_and_stats_and_status_page(self):
        with self.assertRaises(urllib.error.HTTPError) as denied:
            self.http("/metrics")
        self.assertEqual(denied.exception.code, 401)
        before = self.metrics()
        lin = 'listener="inbound",direction="inbound"'
        lout = 'listener="outbound",direction="outbound"'

        # Inbound: 3 messages in 3 sessions, one with 2 recipients; one relay attempt refused.
        mids = []
        for i, rcpts in enumerate((["bob@example.com"], ["bob@example.com", "eve@example.com"], ["ann@example.com"])):
            mid, msg = build_message(to=rcpts, subject=f"in {i}")
            send_mail(INBOUND_HOST, self.cfg.inbound_port, "alice@example.net", rcpts, msg)
            mids.append(mid)
        with RawSmtp(INBOUND_HOST, self.cfg.inbound_port) as raw:
            raw.reply()
            raw.command("EHLO client.test")
            raw.command("MAIL FROM:<x@example.net>")
            refused = raw.command("RCPT TO:<victim@elsewhere.example>")
            self.assertEqual(refused.code // 100, 5)
            raw.command("QUIT")
        # Outbound: 2 messages in one session.
        mids += self.send_outbound(2, "remote.example", "out")
        wait_for(lambda: {message_id_of(m.raw) for m in self.sink.messages()} >= set(mids), WAIT,
                 "all messages at the sink")

        def settled():
            m = self.metrics()
            return m if m.get('hubrelay_recipients_delivered_total{direction="outbound"}', 0) - \
                before.get('hubrelay_recipients_delivered_total{direction="outbound"}', 0) == 2 and \
                m.get('hubrelay_recipients_delivered_total{direction="inbound"}', 0) - \
                before.get('hubrelay_recipients_delivered_total{direction="inbound"}', 0) == 4 else None
        after = wait_for(settled, WAIT, "delivery counters")

        def delta(key):
            return after.get(key, 0) - before.get(key, 0)
        self.assertEqual(delta(f"hubrelay_connections_accepted_total{{{lin}}}"), 4)
        self.assertEqual(delta(f"hubrelay_connections_accepted_total{{{lout}}}"), 1)
        self.assertEqual(delta(f"hubrelay_messages_received_total{{{lin}}}"), 3)
        self.assertEqual(delta(f"hubrelay_messages_received_total{{{lout}}}"), 2)
        self.assertEqual(delta(f"hubrelay_recipients_received_total{{{lin}}}"), 4)
        self.assertEqual(delta(f"hubrelay_recipients_received_total{{{lout}}}"), 2)
        self.assertEqual(delta(f'hubrelay_rejections_total{{{lin},status="{refused.enhanced}"}}'), 1)
        self.assertEqual(delta('hubrelay_messages_delivered_total{direction="inbound"}'), 3)
        self.assertEqual(delta('hubrelay_messages_delivered_total{direction="outbound"}'), 2)
        self.assertEqual(delta('hubrelay_delivery_latency_seconds_count{direction="outbound"}'), 2)
        self.assertEqual(after['hubrelay_hop_up{hop="smarthost"}'], 1)
        self.assertGreaterEqual(delta('hubrelay_hop_successes_total{hop="smarthost"}'), 1)
        for direction in ("inbound", "outbound"):
            self.assertEqual(after[f'hubrelay_queue_messages{{direction="{direction}",state="queued"}}'], 0)
        self.assertEqual(after[f"hubrelay_sessions_active{{{lin}}}"], 0)
        self.assertGreaterEqual(delta("hubrelay_queue_committed_messages_total"), 5)

        # stats: rates appear once a full 10-second bucket has passed.
        def stats():
            r = run_cli(["stats", "--config", str(self.config_path)])
            self.assertEqual(r.returncode, 0, r.stderr)
            row = [l.split() for l in r.stdout.splitlines() if l.startswith("outbound") and " in " in f" {l} "]
            return r.stdout if row and float(row[0][2]) > 0 else None
        out = wait_for(stats, WAIT, "a non-zero outbound rate in hubrelay stats", interval=1.0)
        print("\n[hubrelay stats]\n" + out, file=sys.stderr)

        status = json.loads(self.http("/api/status", token=self.token))
        self.assertEqual(sum(status["directions"]["outbound"]["series_in"]), 2)
        self.assertEqual(sum(status["directions"]["inbound"]["series_in"]), 3)

        # Health paths: /metrics and /api/status carry the monitor's states.
        paths = wait_for(lambda: (lambda m: m if m.get('hubrelay_path_up{path="gone"}') == 0 else None)(self.metrics()),
                         WAIT, "path gone DOWN in /metrics")
        self.assertEqual(paths['hubrelay_path_up{path="lan"}'], 1)
        self.assertEqual(paths['hubrelay_path_maintenance{path="lan"}'], 0)
        self.assertEqual(paths['hubrelay_path_transitions_total{path="lan"}'], 0)
        self.assertGreaterEqual(paths['hubrelay_path_transitions_total{path="gone"}'], 1)
        status = json.loads(self.http("/api/status", token=self.token))
        by_name = {p["name"]: p for p in status["paths"]}
        self.assertEqual(by_name["lan"]["state"], "up")
        self.assertEqual(by_name["gone"]["state"], "down")
        self.assertGreater(by_name["gone"]["since"], 0)
        self.assertEqual([h["paths"] for h in status["hops"] if h["name"] == "smarthost"], [["lan"]])
        self.render_status_page()

    def render_status_page(self):
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if not browser:
            self.skipTest("chromium is not installed (scripts/setup-debian.sh installs it)")
        profile = tempfile.mkdtemp(prefix="hubrelay-chromium-", dir=self.dir)
        shot = self.dir / "status-page.png"
        url = f"http://127.0.0.1:{self.admin_port}/?token={self.token}"
        flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1200,900"]
        dom = subprocess.run(flags + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        self.assertIn('data-rendered="yes"', dom.stdout)
        totals = {m.group(1): float(m.group(2)) for m in re.finditer(
            r'class="series series-(in|out)"[^>]*data-total="([0-9.]+)"', dom.stdout)}
        self.assertTrue(totals, "no chart series in the rendered page")
        self.assertGreater(totals.get("in", 0), 0)
        self.assertEqual(dom.stdout.count("<polyline"), 4)  # in and out, per direction
        # smarthost shows the path it depends on, coloured by its state; the paths table lists both.
        self.assertIn('<span class="dep up" data-path="lan">lan</span>', dom.stdout)
        self.assertRegex(dom.stdout, r'<td>gone</td><td><span class="down">down</span></td>')
        shot_run = subprocess.run(flags + [f"--screenshot={shot}", url], capture_output=True, text=True,
                                  timeout=120)
        self.assertEqual(shot_run.returncode, 0, shot_run.stderr[-2000:])
        self.assertTrue(shot.exists() and shot.stat().st_size > 5000, "screenshot missing or empty")
        kept = artifacts_dir() / "status-page.png"
        shutil.copyfile(shot, kept)
        print(f"\n[status page screenshot] {kept}", file=sys.stderr)


class ReloadTest(OperationsTestCase):
    def setUp(self):
        super().setUp()
        self.a = self.start_sink("a")
        self.b = self.start_sink("b")
        self.hub = self.start_sink("hub")
        self.admin_port = free_port("127.0.0.1")
        self.cfg, self.config_path = self.make_config(
            [Hop("hub", self.hub.port)], [Hop("up-a", self.a.port)], extra_toml=admin_toml(self.admin_port))
        self.relay = self.start_relay(self.cfg, self.config_path)

    def reload_count(self, marker):
        return self.relay.log_text().count(marker)

    def hup_and_wait(self, marker):
        n = self.reload_count(marker)
        self.relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.reload_count(marker) > n, WAIT, f"'{marker}' in the relay log")

    def test_changed_route_moves_new_mail_while_a_slow_session_completes(self):
        first = self.send_outbound(1, "remote.example", "before")
        wait_for(lambda: self.a.messages(), WAIT, "first message at hop a")

        slow = RawSmtp(OUTBOUND_HOST, self.cfg.outbound_port)
        self.addCleanup(slow.close)
        self.assertEqual(slow.reply().code, 220)
        self.assertEqual(slow.command("EHLO slow.test").code, 250)
        self.assert_transaction_open(slow, "carol@example.com", ["slow@remote.example"])
        self.assertEqual(slow.command("DATA").code, 354)
        slow_mid, slow_msg = build_message(sender="carol@example.com", to=["slow@remote.example"], subject="slow")
        half = len(slow_msg) // 2
        slow.send(slow_msg[:half])

        self.cfg.outbound_hops = [Hop("up-b", self.b.port)]
        self.cfg.write(self.config_path)
        self.hup_and_wait("configuration reloaded")

        after = self.send_outbound(1, "remote.example", "after")
        wait_for(lambda: any(message_id_of(m.raw) == after[0] for m in self.b.messages()), WAIT,
                 "new mail at hop b")
        self.assertNotIn(after[0], {message_id_of(m.raw) for m in self.a.messages()})

        slow.send(slow_msg[half:] + b".\r\n")
        self.assertEqual(slow.reply().code, 250)  # the session that straddled the reload completes
        self.assertEqual(slow.command("QUIT").code, 221)
        wait_for(lambda: slow_mid in {message_id_of(m.raw) for m in self.a.messages() + self.b.messages()},
                 WAIT, "the slow session's message at a hop")
        settle(2)
        everywhere = [message_id_of(m.raw) for m in self.a.messages() + self.b.messages()]
        for mid in first + after + [slow_mid]:
            self.assertEqual(everywhere.count(mid), 1, mid)

    def test_state_dir_stays_until_restart_for_queue_and_state_files(self):
        # docs/operations.md: [relay] state_dir is not reloadable. The daemon's state files
        # (health.json, health.txt) stay beside queue.db; nothing is written to the new one.
        started = self.cfg.state_dir
        moved = self.dir / "moved-state"
        moved.mkdir()
        self.cfg.state_dir = moved
        self.cfg.write(self.config_path)
        self.hup_and_wait("configuration reloaded")
        self.assertIn("state_dir changes only on restart", self.relay.log_text())

        def taken_at():
            try:
                return json.loads((started / "health.json").read_text())["taken_at"]
            except (OSError, ValueError, KeyError):
                return 0
        reloaded = taken_at()
        wait_for(lambda: taken_at() > reloaded, WAIT, "health.json rewritten in the state_dir the daemon started with")
        mids = self.send_outbound(1, "remote.example", "after-move")
        wait_for(lambda: any(message_id_of(m.raw) == mids[0] for m in self.a.messages()), WAIT, "mail delivered")
        self.assertEqual(sorted(p.name for p in moved.iterdir()), [])

    def test_broken_config_keeps_the_old_one(self):
        self.config_path.write_text(self.config_path.read_text() + "\n[listener\nbroken = \n")
        self.hup_and_wait("running configuration kept")
        mids = self.send_outbound(1, "remote.example", "still-working")
        wait_for(lambda: any(message_id_of(m.raw) == mids[0] for m in self.a.messages()), WAIT,
                 "mail still routed by the old configuration")
        self.assertTrue(self.relay.running())

    def test_resolver_that_cannot_start_keeps_the_old_one(self):
        shim = build_ares_fail_shim(self.dir)
        if shim is None:
            self.skipTest("cannot build an LD_PRELOAD shim for c-ares here")
        flag = self.dir / "ares-fail"
        self.relay.stop()
        with unittest.mock.patch.dict(os.environ, {"LD_PRELOAD": str(shim),
                                                   "HUBRELAY_TEST_ARES_FAIL": str(flag)}):
            self.relay = self.start_relay(self.cfg, self.config_path)

        # The new generation's delivery engine cannot create its resolver: the reload is
        # refused with the reason logged, and the old generation keeps routing to hop a.
        flag.touch()
        self.cfg.outbound_hops = [Hop("up-b", self.b.port)]
        self.cfg.write(self.config_path)
        self.hup_and_wait("running configuration kept")
        self.assertTrue(self.relay.running())
        self.assertIn("SIGHUP: delivery engine: c-ares", self.relay.log_text())
        kept = self.send_outbound(1, "remote.example", "kept")
        wait_for(lambda: any(message_id_of(m.raw) == kept[0] for m in self.a.messages()), WAIT,
                 "mail still routed by the old configuration")

        # Once c-ares works again the same file reloads.
        flag.unlink()
        self.hup_and_wait("configuration reloaded")
        moved = self.send_outbound(1, "remote.example", "moved")
        wait_for(lambda: any(message_id_of(m.raw) == moved[0] for m in self.b.messages()), WAIT,
                 "new mail at hop b")


class DrainTest(OperationsTestCase):
    def test_sigterm_drains_sessions_and_keeps_the_queue_consistent(self):
        self.sink = self.start_sink("hub")
        self.cfg, self.config_path = self.make_config([Hop("hub", self.sink.port)], [Hop("up", self.sink.port)])
        self.relay = self.start_relay(self.cfg, self.config_path)

        busy = RawSmtp(OUTBOUND_HOST, self.cfg.outbound_port, timeout=30)
        idle = RawSmtp(OUTBOUND_HOST, self.cfg.outbound_port, timeout=30)
        self.addCleanup(busy.close)
        self.addCleanup(idle.close)
        for s in (busy, idle):
            self.assertEqual(s.reply().code, 220)
            self.assertEqual(s.command("EHLO drain.test").code, 250)
        self.assert_transaction_open(busy, "carol@example.com", ["late@remote.example"])
        self.assertEqual(busy.command("DATA").code, 354)
        mid, msg = build_message(sender="carol@example.com", to=["late@remote.example"], subject="drain")
        busy.send(msg[:20])

        self.relay.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: "draining" in self.relay.log_text(), WAIT, "the drain to start")
        # No new sessions once draining.
        wait_for(lambda: not port_accepts(OUTBOUND_HOST, self.cfg.outbound_port), WAIT,
                 "the outbound listener to stop accepting")
        # The session in DATA may finish its message within the grace time.
        busy.send(msg[20:] + b".\r\n")
        self.assertEqual(busy.reply().code, 250)
        # Everyone still connected is told 421 4.3.2 and closed.
        for s in (busy, idle):
            replies = s.replies_until_close()
            self.assertTrue(replies, "no reply before close")
            self.assertEqual((replies[-1].code, replies[-1].enhanced), (421, "4.3.2"))
        self.assertEqual(self.relay.proc.wait(timeout=WAIT), 0)
        self.relay.exit_status = 0

        # The queue is consistent: the accepted message is delivered exactly once, now or
        # after a restart (recovery makes anything left pending due at once).
        if mid not in {message_id_of(m.raw) for m in self.sink.messages()}:
            self.relay = self.start_relay(self.cfg, self.config_path)
        wait_for(lambda: mid in {message_id_of(m.raw) for m in self.sink.messages()}, WAIT, "the drained message")
        settle(2)
        self.assertEqual([message_id_of(m.raw) for m in self.sink.messages()].count(mid), 1)


@unittest.skipUnless(os.geteuid() == 0, "dropping privileges needs root")
class PrivilegeTest(OperationsTestCase):
    def test_relay_user_drops_root_after_binding(self):
        import pwd
        nobody = pwd.getpwnam("nobody")
        self.sink = self.start_sink("hub")
        self.admin_port = free_port("127.0.0.1")
        self.cfg, self.config_path = self.make_config([Hop("hub", self.sink.port)], [Hop("up", self.sink.port)],
                                                      extra_toml=admin_toml(self.admin_port))
        text = self.config_path.read_text().replace("[relay]\n", '[relay]\nuser = "nobody"\n', 1)
        self.config_path.write_text(text)
        os.chmod(self.dir, 0o755)  # mkdtemp's 0700 would lock the service user out of state/
        self.relay = self.start_relay(self.cfg, self.config_path)
        # The kernel accepts on a listening socket before the daemon switches user, so
        # wait for the switch rather than assume it happened at readiness.
        wait_for(lambda: "running as user nobody" in self.relay.log_text(), WAIT, "the privilege drop")
        status = Path(f"/proc/{self.relay.proc.pid}/status").read_text()
        uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M).groups()
        self.assertEqual({int(u) for u in uids}, {nobody.pw_uid})  # real, effective, saved
        self.assertEqual(os.stat(self.cfg.state_dir / "queue.db").st_uid, nobody.pw_uid)
        mids = self.send_outbound(1, "remote.example", "unprivileged")
        wait_for(lambda: mids[0] in {message_id_of(m.raw) for m in self.sink.messages()}, WAIT,
                 "delivery by the unprivileged daemon")
        self.assertIn("hubrelay_up 1", self.http("/metrics"))  # the queue is still readable


class ReceivedIdTest(OperationsTestCase):
    """The id in the relay's Received: header is the message's queue id: an administrator
    holding a delivered copy runs `hubrelay queue show ID` and greps the log for it."""

    RECEIVED_ID = re.compile(rb"^Received: from .*?\bby relay\.test \(hubrelay\) with \S+ id (\S+?)[;\s]",
                             re.MULTILINE | re.DOTALL)

    def setUp(self):
        super().setUp()
        self.sink = self.start_sink("hub")
        self.cfg, self.config_path = self.make_config([Hop("hub", self.sink.port)],
                                                      [Hop("smarthost", self.sink.port)])

    def deliver(self, relay, tag):
        """Sends one message through the inbound listener; returns (250 reply id, Received id)."""
        mid, msg = build_message(to=["bob@example.com"], subject=tag)
        with RawSmtp(INBOUND_HOST, self.cfg.inbound_port) as c:
            c.reply()
            c.command("EHLO client.test")
            self.assert_transaction_open(c)
            self.assertEqual(c.command("DATA").code, 354)
            c.send(stuff(msg) + b".\r\n")
            queued = c.reply()
            self.assertEqual(queued.code, 250, queued.text)
        got = self.wait_for_message(self.sink, mid)
        found = self.RECEIVED_ID.search(got.raw)
        self.assertIsNotNone(found, got.raw[:400])
        return queued.text.rsplit(" ", 1)[-1], found.group(1).decode()

    def test_received_id_is_the_queue_id_in_cli_and_log(self):
        relay = self.start_relay(self.cfg, self.config_path)
        queued_as, received_id = self.deliver(relay, "first")
        self.assertEqual(received_id, queued_as, "the header names the id the 250 announced")
        shown = self.cli("show", received_id, "--json")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        message = json.loads(shown.stdout)
        self.assertEqual(message["sender"], "alice@example.net")
        self.assertEqual([r["address"] for r in message["recipients"]], ["bob@example.com"])
        # The lines about accepting and delivering it carry the same id.
        def logged():
            lines = [line for line in relay.log_text().splitlines() if f"qid={received_id} " in line]
            return lines if any("status=delivered" in line for line in lines) else None
        lines = wait_for(logged, WAIT, f"delivery of {received_id} logged")
        self.assertTrue(any(line.endswith("queued") for line in lines), lines)

        # After a restart the next message gets a new id, never one handed out before.
        relay.stop()
        relay = self.start_relay(self.cfg, self.config_path)
        _, second = self.deliver(relay, "second")
        self.assertGreater(int(second, 16), int(received_id, 16))
        self.assertEqual(self.cli("show", second, "--json").returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

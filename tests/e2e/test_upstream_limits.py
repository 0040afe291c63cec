#!/usr/bin/python3
"""tests/e2e/test_upstream_limits.py — the relay respects the limits an upstream hop sets.

Owns: the upstream-limits contract against a sink that enforces limits the way ISP smart
hosts and Exchange Online do (LimitSink below): at most K concurrent sessions (above K:
"421 4.7.0 Too many connections" at the greeting) and at most R messages per second
(above it: "451 4.7.1 rate limited" to MAIL). With the hop's max_connections well above K
every message still arrives exactly once, the hop is throttled but never ejected, and the
concurrency window settles at or under K. A hop with max_message_rate never shows the sink
more than the rate (count-based, generous margin). A hop with suspend_on is "suspended
until T" with the matching reply in health.json, and mail goes on once the time is up.
Messages saying "TLS-Required: No" to a hop with tls = "required" (each on a session of
its own) never open more sessions at once than the hop's max_connections.
Never: asserts timing (throughput and deferrals are reported, not asserted); every wait
is bounded.
Standards: RFC 5321 §4.5.4.1 (retry on transient failure); RFC 3463 (4.7.x policy).
"""

import asyncio
import collections
import json
import sys
import threading
import time
import unittest
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (OUTBOUND_HOST, E2ETestCase, Hop, build_message,  # noqa: E402
                     fetch_metrics, free_port, message_id_of, run_cli, smtp_connect,
                     smtp_transaction, wait_for)

DELIVERY_WAIT = 60.0


class LimitSink:
    """An SMTP sink on 127.0.0.1 in its own thread that enforces limits.

    max_sessions: sessions beyond it get "421 4.7.0 Too many connections" at once.
    max_per_second: a MAIL beyond it in the last second gets "451 4.7.1 rate limited".
    refuse_first: the first N MAIL commands get `refuse_reply` (for suspend_on).
    Records accepted messages (raw bytes), when each was accepted, the most sessions seen
    at once, and how many 421/451 replies it sent."""

    def __init__(self, max_sessions=0, max_per_second=0, refuse_first=0,
                 refuse_reply=b"451 4.7.0 slow down: rate exceeded\r\n"):
        self.max_sessions = max_sessions
        self.max_per_second = max_per_second
        self.refuse_first = refuse_first
        self.refuse_reply = refuse_reply
        self.port = free_port("127.0.0.1")
        self.lock = threading.Lock()
        self.messages = []          # raw bytes
        self.accepted_at = []       # time.monotonic() of each accepted message
        self.mail_times = collections.deque()
        self.sessions = 0
        self.most_sessions = 0
        self.refused_sessions = 0
        self.rate_refusals = 0
        self.mails = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.started = threading.Event()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", self.port))
        self.started.set()
        self.loop.run_forever()

    def start(self):
        self.thread.start()
        if not self.started.wait(10):
            raise RuntimeError("limit sink did not start")
        return self

    def stop(self):
        def close():
            self.server.close()
            self.loop.stop()
        self.loop.call_soon_threadsafe(close)
        self.thread.join(10)

    def ids(self):
        with self.lock:
            return [message_id_of(m) for m in self.messages]

    async def _session(self, reader, writer):
        with self.lock:
            over = self.max_sessions and self.sessions >= self.max_sessions
            if over:
                self.refused_sessions += 1
            else:
                self.sessions += 1
                self.most_sessions = max(self.most_sessions, self.sessions)
        try:
            if over:
                writer.write(b"421 4.7.0 Too many connections, try again later\r\n")
                await writer.drain()
                return
            await self._dialogue(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if not over:
                with self.lock:
                    self.sessions -= 1
            writer.close()

    def _mail_reply(self):
        now = time.monotonic()
        with self.lock:
            self.mails += 1
            if self.mails <= self.refuse_first:
                return self.refuse_reply
            if self.max_per_second:
                while self.mail_times and now - self.mail_times[0] >= 1.0:
                    self.mail_times.popleft()
                if len(self.mail_times) >= self.max_per_second:
                    self.rate_refusals += 1
                    return b"451 4.7.1 rate limited, slow down\r\n"
                self.mail_times.append(now)
        return b"250 2.1.0 Ok\r\n"

    async def _dialogue(self, reader, writer):
        writer.write(b"220 limits.test ESMTP\r\n")
        in_mail = False
        while True:
            line = await asyncio.wait_for(reader.readline(), 60)
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250-limits.test\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL":
                reply = self._mail_reply()
                in_mail = reply.startswith(b"250")
                writer.write(reply)
            elif verb == b"RCPT":
                writer.write(b"250 2.1.5 Ok\r\n" if in_mail else b"503 5.5.1 MAIL first\r\n")
            elif verb == b"DATA":
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                await writer.drain()
                body = bytearray()
                while True:
                    chunk = await asyncio.wait_for(reader.readline(), 60)
                    if not chunk:
                        return
                    if chunk == b".\r\n":
                        break
                    body += chunk[1:] if chunk.startswith(b"..") else chunk
                with self.lock:
                    self.messages.append(bytes(body))
                    self.accepted_at.append(time.monotonic())
                in_mail = False
                writer.write(b"250 2.0.0 Ok: stored\r\n")
            elif verb == b"RSET":
                in_mail = False
                writer.write(b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"250 2.0.0 Ok\r\n")
            await writer.drain()


def most_in_window(times, seconds):
    """The most events in any window of `seconds` (sliding, starting at an event)."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - seconds:
            j += 1
        best = max(best, i - j + 1)
    return best


class UpstreamLimitsTest(E2ETestCase):
    def start_limit_sink(self, **limits):
        sink = LimitSink(**limits).start()
        self.addCleanup(sink.stop)
        return sink

    def relay_for(self, sink, hop_lines):
        self.admin_port = free_port()
        hop = Hop("isp", sink.port, extra=hop_lines)
        hub = self.start_sink("hub")
        self.cfg, path = self.make_config([Hop("hub", hub.port)], [hop],
                                          extra_toml=f'[admin]\nlisten = "127.0.0.1:{self.admin_port}"\n')
        self.relay = self.start_relay(self.cfg, path)

    def send(self, n, tag, clients=1, extra_headers=()):
        """Submits n messages over `clients` parallel sessions (a burst the hop must queue)."""
        mids, errors = [], []

        def one_client(c):
            try:
                with smtp_connect(OUTBOUND_HOST, self.cfg.outbound_port) as s:
                    for i in range(c, n, clients):
                        to = [f"r{i}@isp-customer.example.org"]
                        mid, msg = build_message(sender="carol@example.com", to=to, subject=f"{tag} {i}",
                                                 extra_headers=extra_headers)
                        smtp_transaction(s, "carol@example.com", to, msg)
                        mids.append(mid)
            except Exception as e:  # reported below: a thread cannot fail the test itself
                errors.append(repr(e))
        threads = [threading.Thread(target=one_client, args=(c,)) for c in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [], "submission failed")
        self.assertEqual(len(mids), n)
        return mids

    def wait_delivered(self, sink, mids, what):
        want = set(mids)
        wait_for(lambda: want <= set(sink.ids()), DELIVERY_WAIT, what)
        time.sleep(1.0)  # room for duplicates to show up
        counts = collections.Counter(sink.ids())
        self.assertEqual(sorted(counts), sorted(mids), "lost or unexpected messages")
        self.assertEqual({m: n for m, n in counts.items() if n != 1}, {}, "messages delivered more than once")

    def metric(self, name):
        return fetch_metrics(self.admin_port).get(f'{name}{{hop="isp"}}', 0)

    def metric_state(self, state):
        return fetch_metrics(self.admin_port).get(f'hubrelay_hop_state{{hop="isp",state="{state}"}}')

    def health(self):
        path = self.cfg.state_dir / "health.json"
        try:
            return {h["name"]: h for h in json.loads(path.read_text())["hops"]}["isp"]
        except (OSError, ValueError, KeyError):
            return None

    def test_concurrency_and_rate_limited_sink(self):
        k, r, n = 3, 40, 300
        sink = self.start_limit_sink(max_sessions=k, max_per_second=r)
        self.relay_for(sink, ["max_connections = 20"])
        start = time.monotonic()
        mids = self.send(n, "limited", clients=6)
        self.wait_delivered(sink, mids, f"all {n} messages at the limited sink")
        with sink.lock:
            first, last = min(sink.accepted_at), max(sink.accepted_at)
        elapsed = time.monotonic() - start
        m = fetch_metrics(self.admin_port)
        deferred = m.get('hubrelay_recipients_deferred_total{direction="outbound"}', 0)
        window = m['hubrelay_hop_concurrency_limit{hop="isp"}']
        throttled = m['hubrelay_hop_throttled_total{hop="isp"}']
        rate = n / max(last - first, 0.001)
        print(f"[e2e] {n} messages via a sink of {k} sessions and {r}/s: all delivered once; "
              f"deferrals {deferred:.0f}; sink refused {sink.refused_sessions} session(s) (421) and "
              f"{sink.rate_refusals} MAIL (451); throttled {throttled:.0f}; window now {window:.0f}/20; "
              f"most sessions at once {sink.most_sessions}; delivery rate {rate:.1f}/s (sink allows {r}/s), "
              f"{elapsed:.1f}s from first submission", file=sys.stderr)
        self.assertGreater(throttled, 0, "the sink's 421/451 were not taken as throttles")
        self.assertLessEqual(window, k + 1, "the window did not settle near the sink's session limit")
        log = self.relay.log_text()
        self.assertNotIn("hop=isp failed:", log, "a throttle ejected the hop (a throttle is not a dead hop)")

    def test_max_message_rate_is_never_exceeded(self):
        per_second, n = 10, 60
        sink = self.start_limit_sink()
        self.relay_for(sink, [f'max_message_rate = "{per_second}/s"'])
        mids = self.send(n, "paced", clients=3)
        self.wait_delivered(sink, mids, f"all {n} paced messages")
        with sink.lock:
            times = list(sink.accepted_at)
        # The bucket holds one second's worth (10): over any 2 s at most 10 + 2 × 10; a
        # margin of 5 for transactions that start in one window and end in the next.
        most = most_in_window(times, 2.0)
        delayed = self.metric("hubrelay_hop_rate_delayed_total")
        print(f"[e2e] max_message_rate {per_second}/s: most in any 2 s {most} (bound {3 * per_second + 5}); "
              f"held back {delayed:.0f} time(s), {self.metric('hubrelay_hop_rate_delay_seconds_total'):.1f}s in all; "
              f"spread over {max(times) - min(times):.1f}s", file=sys.stderr)
        self.assertLessEqual(most, 3 * per_second + 5, "the sink saw more than the configured rate")
        self.assertGreater(delayed, 0, "nothing was held back by the rate")

    def test_suspend_on_reply_then_mail_goes_on(self):
        sink = self.start_limit_sink(refuse_first=1)
        self.relay_for(sink, ['suspend_on = [ { match = "4\\\\.7\\\\.0 .*rate", duration = "4s" } ]'])
        mids = self.send(1, "suspended")

        def suspended():
            h = self.health()
            return h if h and h["state"] == "suspended" else None
        hop = wait_for(suspended, 20, "hop isp suspended in health.json")
        self.assertIn("451 4.7.0 slow down: rate exceeded", hop["last_error"])
        self.assertGreater(hop["suspended_until"], 0)
        self.assertFalse(hop["ejected"], "a suspension is not an ejection")
        self.assertEqual(self.metric_state("suspended"), 1, "hubrelay_hop_state suspended")
        explain = run_cli(["route", "explain", "x@isp-customer.example.org", "--config",
                           str(self.dir / "hubrelay.toml")])
        self.assertIn("suspended until", explain.stdout + explain.stderr)
        self.assertIn("rate exceeded", explain.stdout + explain.stderr)
        status = json.loads(urllib.request.urlopen(
            f"http://127.0.0.1:{self.admin_port}/api/status", timeout=10).read())
        print(f"[e2e] suspended: {hop['state']} until {hop['suspended_until_utc']}: {hop['last_error']}; "
              f"route explain: {[l for l in explain.stdout.splitlines() if 'isp' in l][:1]}", file=sys.stderr)
        self.assertIn(status["hops"][0]["state"], ("suspended", "usable"))
        self.wait_delivered(sink, mids, "the message after the suspension")
        wait_for(lambda: (self.health() or {}).get("state") == "usable", 20, "hop isp usable again")
        self.assertNotIn("hop=isp failed:", self.relay.log_text(), "the suspending reply ejected the hop")

    def test_waived_sessions_stay_within_max_connections(self):
        # The sink offers no STARTTLS: the hop's own sessions fail ("required"), each
        # "TLS-Required: No" message goes on a plaintext session of its own.
        sink = self.start_limit_sink()
        self.relay_for(sink, ['tls = "required"', "max_connections = 2"])
        n = 24
        mids = self.send(n, "waived", clients=6, extra_headers=[b"TLS-Required: No"])
        self.wait_delivered(sink, mids, f"all {n} waived messages")
        print(f"[e2e] {n} TLS-Required: No messages, max_connections 2: most sessions at once "
              f"{sink.most_sessions}", file=sys.stderr)
        self.assertLessEqual(sink.most_sessions, 2, "waived sessions went past max_connections")


if __name__ == "__main__":
    unittest.main()

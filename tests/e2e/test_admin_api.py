#!/usr/bin/python3
"""tests/e2e/test_admin_api.py — the writable admin API against a running relay.

Owns: [admin] token_file (a file others can read is a configuration error naming it; a
non-loopback admin address without a token is refused); every mutation (queue hold,
release, retry, delete, bounce, expire; hop suspend and resume) with no token, a wrong
token and the right one; bad JSON, unknown fields, unknown ids and hops, filters that
match nothing, dry runs that count and change nothing; the audit line of each change; a
hop suspended over HTTP shows as "suspended" in `hubrelay health` and /metrics, its mail
waits, and flows once it is resumed; a health path forced DOWN for a duration suspends its
hop until released; suspensions and forced paths outlive a configuration reload (SIGHUP);
the tracking search (GET /api/tracking) answers as `hubrelay
track` does, bounded, with JSON errors; the status page's trace search and hop buttons in
headless Chromium. Every response is validated against /api/openapi.json (the document
itself is checked first: OpenAPI 3.1, one unique operationId per operation, every schema
a valid JSON Schema 2020-12, every $ref resolvable) with Debian's python3-jsonschema.
Never: asserts timing; every wait is bounded.
"""

import base64
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (OUTBOUND_HOST, E2ETestCase, Hop, build_message, free_port, hop_toml,  # noqa: E402
                     parse_metrics, route_toml, run_cli, send_mail, wait_for)

try:
    import jsonschema
except ImportError:  # scripts/setup-debian.sh --test installs python3-jsonschema
    jsonschema = None

WAIT = 40.0
TOKEN = "e2e-admin-token-0123456789abcdef"
SENDER = "carol@example.com"
MUTATIONS = ["/api/queue/hold", "/api/queue/release", "/api/queue/retry", "/api/queue/delete",
             "/api/queue/bounce", "/api/queue/expire", "/api/hops/smart/suspend", "/api/hops/smart/resume",
             "/api/paths/wan/force", "/api/paths/wan/release"]


class OpenApi:
    """Finds the operation of a request in the document and validates the answer with it."""

    def __init__(self, doc):
        self.doc = doc
        self.resolver = jsonschema.RefResolver.from_schema(doc) if jsonschema else None

    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node and len(node) == 1:
            _, node = self.resolver.resolve(node["$ref"])
        return node

    def operation(self, method, path):
        path = path.split("?")[0]
        paths = self.doc["paths"]
        if path in paths:  # a concrete path wins over a template (OpenAPI path matching)
            return paths[path].get(method.lower())
        for template, item in paths.items():
            pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path) and method.lower() in item:
                return item[method.lower()]
        return None

    def check(self, test, method, path, status, content_type, body):
        op = self.operation(method, path)
        test.assertIsNotNone(op, f"{method} {path} is not in the OpenAPI document")
        responses = op["responses"]
        test.assertIn(str(status), responses, f"{method} {path} answered {status}, not documented")
        response = self.deref(responses[str(status)])
        media = content_type.split(";")[0].strip()
        test.assertIn(media, response.get("content", {}), f"{method} {path} {status}: {media} not documented")
        content = response["content"][media]
        schema = content["schema"]
        if media == "application/json":
            instance = json.loads(body)
        else:
            instance = body
        self.validate(test, schema, instance, f"{method} {path} {status}")
        if "x-line-schema" in content:  # JSON lines: each line is one document
            for line in filter(None, body.split("\n")):
                self.validate(test, content["x-line-schema"], json.loads(line), f"{method} {path} line")

    def validate(self, test, schema, instance, what):
        validator = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(instance)]
        test.assertEqual(errors, [], f"{what} does not match its schema")


class Browser:
    """Headless Chromium driven over the DevTools protocol (a WebSocket, spoken here with the
    standard library only): load a page, run JavaScript in it, read values back."""

    def __init__(self, test, binary, profile):
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--remote-debugging-port=0", "--remote-allow-origins=*", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        test.addCleanup(self.close)
        browser_url = None
        for _ in range(200):  # bounded: Chromium prints its DevTools address at start
            line = self.proc.stderr.readline()
            if not line:
                break
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                browser_url = m.group(1)
                break
        test.assertIsNotNone(browser_url, "Chromium did not print its DevTools address")
        port = int(re.match(r"ws://[^:]+:(\d+)/", browser_url).group(1))
        targets = wait_for(lambda: [t for t in json.loads(urllib.request.urlopen(
            f"http://127.0.0.1:{port}/json/list", timeout=10).read()) if t["type"] == "page"] or None,
            WAIT, "a Chromium page target")
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        path = re.match(r"ws://[^/]+(/.*)", targets[0]["webSocketDebuggerUrl"]).group(1)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            test.assertTrue(chunk, "DevTools closed the WebSocket handshake")
            head += chunk
        test.assertIn(b" 101 ", head.split(b"\r\n")[0])
        self.next_id = 0

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            data += chunk
        return data

    def _frame(self):
        b0, b1 = self._recv_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._recv_exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._recv_exact(8))[0]
        return b0 & 0x0F, self._recv_exact(n)

    def call(self, method, **params):
        self.next_id += 1
        payload = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        header = bytes([0x81]) + (bytes([0x80 | len(payload)]) if len(payload) < 126
                                  else bytes([0x80 | 126]) + struct.pack(">H", len(payload)))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        for _ in range(10000):  # events may come before the answer
            opcode, data = self._frame()
            if opcode == 1:
                message = json.loads(data)
                if message.get("id") == self.next_id:
                    return message.get("result", {})
        raise AssertionError(f"no answer to {method}")

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        return result.get("result", {}).get("value")

    def close(self):
        if getattr(self, "sock", None):
            self.sock.close()
        self.proc.stderr.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class AdminApiTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        if jsonschema is None:
            self.skipTest("python3-jsonschema is not installed (scripts/setup-debian.sh --test)")
        self.hub = self.start_sink("hub")
        self.admin_port = free_port("127.0.0.1")
        dead = Hop("dead", free_port("127.0.0.1"))  # nothing listens: its mail stays deferred
        routes = [*hop_toml(dead), "", *route_toml("stuck", "outbound", ["stuck.example"], [dead]), ""]
        self.token_file = self.dir / "admin.token"
        self.token_file.write_text(TOKEN + "\n")
        os.chmod(self.token_file, 0o600)
        admin = f"""
[path.wan]
interval = "300ms"
initial_state = "up"
check = [ {{ type = "tcp", target = "127.0.0.1:{self.hub.port}", timeout = "1s" }} ]

[admin]
listen = "127.0.0.1:{self.admin_port}"
token_file = "{self.token_file}"
"""
        self.cfg, self.config_path = self.make_config(
            [Hop("hub", self.hub.port)], [Hop("smart", self.hub.port, extra=['paths = ["wan"]'])],
            extra_routes="\n".join(routes), extra_toml=admin)
        self.relay = self.start_relay(self.cfg, self.config_path)
        status, _, body = self.call("GET", "/api/openapi.json", validate=False)
        self.assertEqual(status, 200)
        self.api = OpenApi(json.loads(body))

    # ---------------------------------------------------------------- helpers

    def call(self, method, path, body=None, token=TOKEN, raw=None, validate=True):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}{path}", data=data, method=method)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                status, ctype, text = resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
        except urllib.error.HTTPError as e:
            status, ctype, text = e.code, e.headers.get("Content-Type", ""), e.read().decode()
        if validate:
            self.api.check(self, method, path, status, ctype, text)
        return status, ctype, text

    def post(self, path, body=None, token=TOKEN, raw=None):
        status, _, text = self.call("POST", path, body, token, raw)
        return status, json.loads(text)

    def queue(self, **filters):
        query = "&".join(f"{k}={v}" for k, v in {"state": "all", **filters}.items())
        status, _, text = self.call("GET", f"/api/queue?{query}")
        self.assertEqual(status, 200, text)
        return [json.loads(line) for line in text.splitlines() if line]

    def stuck_messages(self, count, tag):
        for i in range(count):
            rcpt = f"{tag}{i}@stuck.example"
            _, msg = build_message(to=[rcpt], subject=f"{tag} {i}")
            send_mail(OUTBOUND_HOST, self.cfg.outbound_port, SENDER, [rcpt], msg)
        return wait_for(lambda: (lambda m: m if len(m) == count else None)(
            self.queue(state="deferred", recipient="@stuck.example")), WAIT, f"{count} deferred message(s)")

    # ---------------------------------------------------------------- the document

    def test_openapi_document_is_valid(self):
        doc = self.api.doc
        self.assertTrue(doc["openapi"].startswith("3.1."), doc["openapi"])
        ids = []
        for path, item in doc["paths"].items():
            for method, op in item.items():
                self.assertIn("operationId", op, f"{method} {path}")
                ids.append(op["operationId"])
                self.assertTrue(op["responses"], f"{method} {path} has no responses")
                for status, response in op["responses"].items():
                    response = self.api.deref(response)
                    self.assertIn("description", response, f"{method} {path} {status}")
        self.assertEqual(len(ids), len(set(ids)), "operationIds are unique")
        for name, schema in doc["components"]["schemas"].items():
            jsonschema.Draft202012Validator.check_schema(schema)

        def refs(node):
            if isinstance(node, dict):
                for k, v in node.items():
                    if k == "$ref":
                        yield v
                    else:
                        yield from refs(v)
            elif isinstance(node, list):
                for v in node:
                    yield from refs(v)
        for ref in refs(doc):
            self.api.resolver.resolve(ref)  # raises on a dangling reference
        for path in MUTATIONS + ["/api/status", "/api/queue", "/api/queue/summary", "/metrics", "/"]:
            method = "POST" if path in MUTATIONS else "GET"
            self.assertIsNotNone(self.api.operation(method, path), path)
        # The read-only endpoints answer as documented.
        for path in ("/api/status", "/api/queue/summary", "/metrics", "/", "/api/openapi.json"):
            self.assertEqual(self.call("GET", path)[0], 200, path)

    # ---------------------------------------------------------------- tracking search

    def test_tracking_search_answers_as_hubrelay_track(self):
        [m] = self.stuck_messages(1, "track")
        rcpt = "track0@stuck.example"

        def found(query):
            status, _, text = self.call("GET", "/api/tracking?" + query)
            self.assertEqual(status, 200, text)
            return json.loads(text)
        answer = wait_for(lambda: (lambda a: a if {"receive", "queue", "defer"} <= {r["event"] for r in a["records"]}
                                   else None)(found(f"recipient={rcpt}")), WAIT, "receive, queue and defer records")
        self.assertEqual({r["queue_id"] for r in answer["records"]}, {m["id"]})
        self.assertFalse(answer["truncated"])
        self.assertEqual((answer["count"], answer["limit"]), (len(answer["records"]), 1000))
        # The same search as `hubrelay track --json` (the same code, the same records).
        cli = run_cli(["track", "--config", str(self.config_path), "--recipient", rcpt, "--json",
                       "--until", "2099-01-01"])
        self.assertEqual(cli.returncode, 0, cli.stderr)
        same = found(f"recipient={rcpt}&until=2099-01-01")["records"]
        self.assertEqual([json.loads(line) for line in cli.stdout.splitlines()], same)
        # A message's story by its queue id, and a bounded answer that says it was cut.
        story = found(f"queue_id={m['id']}&event=receive,queue&by_message=1")
        self.assertEqual({r["event"] for r in story["records"]}, {r["event"] for r in answer["records"]})
        cut = found(f"recipient={rcpt}&limit=1")
        self.assertEqual((cut["count"], cut["truncated"]), (1, True))
        self.assertEqual(cut["records"], answer["records"][-1:])
        # Errors are JSON with their status; the token rules are those of GET /api/queue.
        for query, word in (("since=yesterday", "since"), ("event=delivered", "unknown event"), ("limit=0", "limit")):
            status, _, text = self.call("GET", "/api/tracking?" + query)
            self.assertEqual(status, 400, query)
            self.assertEqual(json.loads(text)["error"]["code"], "bad_request")
            self.assertIn(word, json.loads(text)["error"]["message"])
        status, _, text = self.call("GET", f"/api/tracking?recipient={rcpt}", token=None)
        self.assertEqual((status, json.loads(text)["error"]["code"]), (401, "unauthorized"))
        status, _, text = self.call("GET", f"/api/tracking?recipient={rcpt}&token={TOKEN}", token=None)
        self.assertEqual(status, 200, text)

    # ---------------------------------------------------------------- tokens

    def test_every_mutation_needs_the_token(self):
        for path in MUTATIONS:
            for token in (None, "wrong-token-0123456789"):
                body = {"ids": ["1"]} if "/queue/" in path else {"duration": "1m", "state": "down"} if "force" in path \
                    else {"duration": "1m"} if "suspend" in path else {}
                status, body = self.post(path, body, token=token)
                self.assertEqual((status, body["error"]["code"]), (401, "unauthorized"), f"{path} token={token}")
        self.assertNotIn("queue admin", self.relay.log_text())
        self.assertNotIn("hop admin", self.relay.log_text())
        self.assertNotIn("path admin", self.relay.log_text())
        status, body = self.post("/api/queue/hold", {"all": True}, token=None,)
        self.assertEqual(status, 401)
        # A GET of a mutation path is refused as such, not served (there is no GET operation
        # to validate against: the answer is checked against the Error schema).
        status, _, text = self.call("GET", "/api/queue/hold", validate=False)
        self.assertEqual(status, 405)
        self.api.validate(self, {"$ref": "#/components/schemas/Error"}, json.loads(text), "GET /api/queue/hold")

    def test_token_file_rules(self):
        os.chmod(self.token_file, 0o644)
        r = run_cli(["queue", "list", "--config", str(self.config_path)])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(str(self.token_file), r.stderr)
        self.assertIn("readable by others", r.stderr)
        os.chmod(self.token_file, 0o600)
        open_cfg = self.dir / "open.toml"
        text = self.config_path.read_text()
        text = re.sub(r'token_file = ".*"\n', "", text).replace(f'listen = "127.0.0.1:{self.admin_port}"',
                                                                 f'listen = "0.0.0.0:{free_port()}"')
        open_cfg.write_text(text)
        r = run_cli(["queue", "list", "--config", str(open_cfg)])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("not a loopback address", r.stderr)

    # ---------------------------------------------------------------- queue actions

    def test_bad_requests_are_json_errors(self):
        cases = [
            (b"{", 400, "bad_json"),
            (b'{"ids":["1"]} trailing', 400, "bad_json"),
            (b'{"ids":["1"],"colour":"red"}', 400, "unknown_field"),
            (b'{"filter":{"flavour":"x"}}', 400, "unknown_field"),
            (b'{"filter":{"older":"soon"}}', 400, "bad_request"),
            (b"{}", 400, "bad_request"),
            (b'{"ids":["not-hex"]}', 400, "bad_request"),
            (b'{"ids":["FFFFFFF0"]}', 404, "not_found"),
            (b'{"ids":["FFFFFFF0"],"dry_run":true}', 404, "not_found"),
        ]
        for raw, want, code in cases:
            status, body = self.post("/api/queue/hold", raw=raw)
            self.assertEqual((status, body["error"]["code"]), (want, code), raw)
        status, body = self.post("/api/queue/bounce", {"all": True})
        self.assertEqual((status, body["error"]["code"]), (400, "bad_request"))

    def test_filters_dry_runs_and_every_action(self):
        held = self.stuck_messages(3, "q")
        ids = sorted(m["id"] for m in held)
        # A filter that matches nothing changes nothing, dry run or not.
        for dry in (True, False):
            status, body = self.post("/api/queue/hold", {"filter": {"sender": "nobody@nowhere.example"}, "dry_run": dry})
            self.assertEqual((status, body["matched"], body["messages"]), (200, 0, 0), body)
        # The dry run counts and changes nothing.
        status, body = self.post("/api/queue/hold", {"filter": {"recipient": "@stuck.example"}, "dry_run": True})
        self.assertEqual((status, body["matched"], body["messages"], sorted(body["ids"])), (200, 3, 0, ids), body)
        self.assertEqual(self.queue(state="held"), [])
        # hold by filter, release by id, retry by filter, bounce by id, delete by filter.
        status, body = self.post("/api/queue/hold", {"filter": {"recipient": "@stuck.example", "sender": SENDER}})
        self.assertEqual((status, body["messages"]), (200, 3), body)
        self.assertEqual(sorted(m["id"] for m in self.queue(state="held")), ids)
        status, body = self.post("/api/queue/release", {"ids": [ids[0]]})
        self.assertEqual((status, body["messages"]), (200, 1), body)
        self.assertEqual(len(self.queue(state="held")), 2)
        status, body = self.post("/api/queue/retry", {"filter": {"recipient": "q1@stuck.example", "state": "held"}})
        self.assertEqual(status, 200, body)
        status, body = self.post("/api/queue/bounce", {"ids": [ids[1]]})
        self.assertEqual((status, body["messages"], body["notices"]), (200, 1, 1), body)
        shown = self.call("GET", f"/api/queue/{ids[1]}")
        self.assertEqual(shown[0], 200)
        self.assertEqual(json.loads(shown[2])["recipients"][0]["state"], "failed")
        status, body = self.post("/api/queue/delete", {"ids": [ids[2]], "dry_run": True})
        self.assertEqual((status, body["matched"], body["messages"]), (200, 1, 0), body)
        status, body = self.post("/api/queue/delete", {"ids": [ids[2]]})
        self.assertEqual((status, body["messages"]), (200, 1), body)
        self.assertEqual(self.call("GET", f"/api/queue/{ids[2]}")[0], 404)
        status, body = self.post("/api/queue/expire", {"filter": {"recipient": "q0@stuck.example", "state": "deferred"}})
        self.assertEqual(status, 200, body)
        # Every change is audited like the CLI's, naming the client.
        log = self.relay.log_text()
        for action in ("hold", "release", "retry", "bounce", "delete", "expire"):
            self.assertRegex(log, rf'queue admin api client=127\.0\.0\.1 action="{action}" target=\S+ messages=\d+')
        self.assertNotRegex(log, r'queue admin .*dry')  # a dry run changes nothing, so it is not a change

    def test_cli_and_api_share_the_queue_actions(self):
        [m] = self.stuck_messages(1, "c")
        r = run_cli(["queue", "hold", m["id"], "--config", str(self.config_path)])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([x["id"] for x in self.queue(state="held")], [m["id"]])
        status, body = self.post("/api/queue/release", {"ids": [m["id"]]})
        self.assertEqual((status, body["messages"]), (200, 1), body)
        # The same audit line; the CLI writes it where [log] says (stderr here, no log file).
        self.assertRegex(r.stderr, r'queue admin user=\S+ uid=\d+ action="hold" target=\S+ messages=1 recipients=\d+')
        self.assertRegex(self.relay.log_text(), r'queue admin api client=127\.0\.0\.1 action="release" target=\S+ messages=1 recipients=\d+')

    # ---------------------------------------------------------------- hops

    def test_hop_suspend_holds_mail_back_until_resumed(self):
        status, body = self.post("/api/hops/nowhere/suspend", {"duration": "5m"})
        self.assertEqual((status, body["error"]["code"]), (404, "not_found"))
        status, body = self.post("/api/hops/smart/resume", {})
        self.assertEqual((status, body["error"]["code"]), (409, "conflict"))
        status, body = self.post("/api/hops/smart/suspend", {"duration": "soon"})
        self.assertEqual((status, body["error"]["code"]), (400, "bad_request"))

        status, body = self.post("/api/hops/smart/suspend", {"duration": "1h", "reason": "upstream maintenance"})
        self.assertEqual((status, body["state"]), (200, "suspended"), body)
        self.assertGreater(body["suspended_until"], 0)

        def health_says_suspended():
            r = run_cli(["health", "--json", "--config", str(self.config_path)])
            if r.returncode != 0:
                return None
            hops = {h["name"]: h for h in json.loads(r.stdout)["hops"]}
            return hops["smart"] if hops["smart"]["state"] == "suspended" else None
        hop = wait_for(health_says_suspended, WAIT, "hubrelay health says smart is suspended")
        self.assertIn("upstream maintenance", json.dumps(hop))
        status, _, text = self.call("GET", "/metrics")
        m = parse_metrics(text)
        self.assertEqual(m['hubrelay_hop_state{hop="smart",state="suspended"}'], 1)
        self.assertEqual(m['hubrelay_hop_up{hop="smart"}'], 0)

        _, msg = build_message(to=["dave@example.org"], subject="waits for the hop")
        send_mail(OUTBOUND_HOST, self.cfg.outbound_port, SENDER, ["dave@example.org"], msg)
        def parked():
            found = self.queue(recipient="dave@example.org")
            return found if found and found[0]["recipients"][0].get("parked_on") else None
        wait_for(parked, WAIT, "the message is parked while its only hop is suspended")
        self.assertEqual(self.hub.messages(), [])

        status, body = self.post("/api/hops/smart/resume", {"reason": "done"})
        self.assertEqual((status, body["state"]), (200, "usable"), body)
        wait_for(lambda: self.hub.messages() or None, WAIT, "the message flows after resume")
        log = self.relay.log_text()
        self.assertRegex(log, r'hop admin api client=127\.0\.0\.1 action="suspend" hop=smart for=3600s')
        self.assertRegex(log, r'hop admin api client=127\.0\.0\.1 action="resume" hop=smart')

    def hop_state_in_health(self, hop, want):
        def check():
            r = run_cli(["health", "--json", "--config", str(self.config_path)])
            if r.returncode != 0:
                return None
            hops = {h["name"]: h for h in json.loads(r.stdout)["hops"]}
            return hops[hop] if hops[hop]["state"] == want else None
        return wait_for(check, WAIT, f"hubrelay health says {hop} is {want}")

    def test_path_forced_down_then_released(self):
        self.hop_state_in_health("smart", "usable")
        status, body = self.post("/api/paths/nowhere/force", {"state": "down", "duration": "5m"})
        self.assertEqual((status, body["error"]["code"]), (404, "not_found"))
        status, body = self.post("/api/paths/wan/release", {})
        self.assertEqual((status, body["error"]["code"]), (409, "conflict"))
        status, body = self.post("/api/paths/wan/force", {"state": "down", "duration": "1h", "reason": "line work"})
        self.assertEqual((status, body["state"]), (200, "DOWN"), body)
        self.assertGreater(body["forced_until"], 0)
        # A path forced DOWN is planned: its hop is suspended, as in a maintenance window.
        self.hop_state_in_health("smart", "suspended")
        m = parse_metrics(self.call("GET", "/metrics")[2])
        self.assertEqual(m['hubrelay_hop_state{hop="smart",state="suspended"}'], 1)
        status, body = self.post("/api/paths/wan/release", {"reason": "done"})
        self.assertEqual((status, body["forced_until"]), (200, 0), body)
        self.hop_state_in_health("smart", "usable")  # its checks decide again: the hub answers
        log = self.relay.log_text()
        self.assertRegex(log, r'path admin api client=127\.0\.0\.1 action="force down" path=wan for=3600s')
        self.assertRegex(log, r'path admin api client=127\.0\.0\.1 action="release" path=wan')

    def test_suspensions_and_forced_paths_survive_a_reload(self):
        status, hop = self.post("/api/hops/dead/suspend", {"duration": "2h", "reason": "upstream maintenance"})
        self.assertEqual((status, hop["state"]), (200, "suspended"), hop)
        status, path = self.post("/api/paths/wan/force", {"state": "down", "duration": "1h", "reason": "line work"})
        self.assertEqual((status, path["state"]), (200, "DOWN"), path)
        self.hop_state_in_health("smart", "suspended")  # its path is forced DOWN

        marker = "SIGHUP: configuration reloaded"
        before = self.relay.log_text().count(marker)
        self.relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.relay.log_text().count(marker) > before, WAIT, "the reload in the relay log")

        # The same suspension, to the same end, in the status and in `hubrelay health`.
        status = json.loads(self.call("GET", "/api/status")[2])
        hops = {h["name"]: h for h in status["hops"]}
        self.assertEqual(hops["dead"]["state"], "suspended", hops["dead"])
        self.assertLessEqual(abs(hops["dead"]["suspended_until"] - hop["suspended_until"]), 1, hops["dead"])
        self.assertIn("upstream maintenance", json.dumps(self.hop_state_in_health("dead", "suspended")))
        self.assertIn("reload: hop dead stays suspended", self.relay.log_text())
        # The path is still forced DOWN (its hop still suspended) until released by hand.
        self.hop_state_in_health("smart", "suspended")
        status, released = self.post("/api/paths/wan/release", {"reason": "done"})
        self.assertEqual((status, released["forced_until"]), (200, 0), released)
        self.hop_state_in_health("smart", "usable")
        status, resumed = self.post("/api/hops/dead/resume", {})
        self.assertEqual((status, resumed["state"]), (200, "usable"), resumed)

    def test_cli_hop_and_path_commands_use_the_api(self):
        cfg = ["--config", str(self.config_path)]
        r = run_cli(["hop", "suspend", "smart", "--for", "30m", "--reason", "from the shell", *cfg])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.api.check(self, "POST", "/api/hops/smart/suspend", 200, "application/json", r.stdout)
        self.assertEqual(json.loads(r.stdout)["state"], "suspended")
        self.hop_state_in_health("smart", "suspended")
        r = run_cli(["hop", "resume", "smart", *cfg])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_cli(["hop", "resume", "smart", *cfg])  # refused by the daemon: not suspended
        self.assertEqual(r.returncode, 1)
        self.assertIn('409: hop "smart" is not suspended', r.stderr)
        r = run_cli(["hop", "suspend", "nowhere", "--for", "1m", *cfg])
        self.assertEqual(r.returncode, 1)
        self.assertIn("404: no hop named", r.stderr)
        r = run_cli(["hop", "suspend", "smart", *cfg])  # a usage error, found before asking
        self.assertEqual(r.returncode, 2)
        r = run_cli(["path", "force", "wan", "down", "--for", "10m", *cfg])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.api.check(self, "POST", "/api/paths/wan/force", 200, "application/json", r.stdout)
        self.hop_state_in_health("smart", "suspended")
        r = run_cli(["path", "release", "wan", *cfg])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.hop_state_in_health("smart", "usable")
        # The daemon audits them: one code path whether the change came from the shell or HTTP.
        log = self.relay.log_text()
        self.assertRegex(log, r'hop admin api client=127\.0\.0\.1 action="suspend" hop=smart for=1800s .*reason="from the shell"')
        self.assertRegex(log, r'path admin api client=127\.0\.0\.1 action="force down" path=wan for=600s')

    # ---------------------------------------------------------------- the status page

    def chromium(self, url):
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if not browser:
            self.skipTest("chromium is not installed (scripts/setup-debian.sh --test)")
        profile = tempfile.mkdtemp(prefix="hubrelay-chromium-", dir=self.dir)
        flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--virtual-time-budget=8000", "--dump-dom", url]
        dom = subprocess.run(flags, capture_output=True, text=True, timeout=120)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        self.assertIn('data-rendered="yes"', dom.stdout)
        return dom.stdout

    def test_status_page_trace_search_and_hop_buttons(self):
        [m] = self.stuck_messages(1, "page")
        base = f"http://127.0.0.1:{self.admin_port}/?token={TOKEN}"
        # The trace box searches the tracking records: the message's story, grouped under it.
        wait_for(lambda: any(r["event"] == "defer" for r in json.loads(self.call(
            "GET", "/api/tracking?recipient=page0@stuck.example")[2])["records"]) or None, WAIT, "a defer record")
        page = self.chromium(base + "#trace:recipient=page0@stuck.example")
        self.assertIn('data-count="1"', page)
        self.assertIn(f'<span class="trace-id">{m["id"]}</span>', page)
        for event in ("receive", "queue", "defer"):
            self.assertIn(f'class="trace-event" data-event="{event}"', page)
        self.assertRegex(page, r"defer at hop dead \(127\.0\.0\.1:\d+\) for &lt;page0@stuck\.example&gt;")
        page = self.chromium(base + "#trace:sender=nobody@nowhere.example")
        self.assertIn('data-count="0"', page)
        self.assertIn('class="hop-suspend" data-hop="smart"', page)
        self.assertIn('class="hop-resume" data-hop="smart"', page)

    def test_status_page_suspends_and_resumes_a_hop(self):
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        if not binary:
            self.skipTest("chromium is not installed (scripts/setup-debian.sh --test)")
        browser = Browser(self, binary, tempfile.mkdtemp(prefix="hubrelay-chromium-", dir=self.dir))
        page = f"http://127.0.0.1:{self.admin_port}/"
        browser.call("Page.enable")
        browser.call("Page.navigate", url=page + f"?token={TOKEN}")
        wait_for(lambda: browser.evaluate("document.body && document.body.getAttribute('data-rendered')") == "yes",
                 WAIT, "the status page rendered")

        def click_and_wait(button, want):
            browser.evaluate(f"document.getElementById('suspend-duration').value = '2h';"
                             f"document.querySelector('.{button}[data-hop=\"smart\"]').click(); true")
            return wait_for(lambda: (lambda t: t if t and want in t else None)(
                browser.evaluate("document.getElementById('admin-result').textContent")), WAIT, f"the page says {want}")

        self.assertIn("suspended until", click_and_wait("hop-suspend", "smart: suspended"))
        status = json.loads(self.call("GET", "/api/status")[2])
        self.assertEqual({h["name"]: h["state"] for h in status["hops"]}["smart"], "suspended")
        self.assertRegex(self.relay.log_text(), r'hop admin api client=127\.0\.0\.1 action="suspend" hop=smart for=7200s')
        def load():  # a fresh page: no reload an earlier action scheduled is pending
            browser.call("Page.navigate", url=page + f"?token={TOKEN}")
            wait_for(lambda: browser.evaluate("document.body && document.body.getAttribute('data-rendered')") == "yes",
                     WAIT, "the status page rendered again")
        load()
        click_and_wait("hop-resume", "smart: usable")
        load()
        # With the token box emptied the page says why, and nothing changes.
        browser.evaluate("document.getElementById('admin-token').value = ''; true")
        text = click_and_wait("hop-suspend", "401")
        self.assertIn("Bearer", text)
        status = json.loads(self.call("GET", "/api/status")[2])
        self.assertEqual({h["name"]: h["state"] for h in status["hops"]}["smart"], "usable")


if __name__ == "__main__":
    unittest.main()

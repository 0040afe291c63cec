#!/usr/bin/python3
"""tests/e2e/test_milter.py — content filters (milter protocol 6) against the real libmilter.

Owns: the end-to-end contract of [milter.NAME] and listener `milters` (docs/configuration.md):
a scripted filter on python3-milter (tests/e2e/scripted_milter.py) answers every verdict at
every stage and every modification; the client sees the filter's reply, the sink receives
exactly the modified message (byte for byte) or nothing; quarantine holds the message
(`queue list --held`, `release`); header edits of a spooled (large) message are stored beside
its spool file, which stays as received (docs/queue.md), while delivery and `queue show --eml`
carry the edits; discard answers 250 and stores nothing; a filter that is
down, slow, dies mid-message or sends something malformed gets its default_action. In every
case nothing acknowledged is lost and nothing refused is delivered. The real filters of
tests/e2e/filter_rigs.py run behind hubrelay too: rspamd (reject marker with its text, its
header added byte-exact), ClamAV (EICAR refused naming the signature; with OnInfected
Quarantine held in the queue) and OpenDKIM (the signature verifies with python3-dkim);
each class is skipped when its package is missing.
Never: asserts timing; every wait is bounded (wait_for).
"""

import base64
import json
import shutil
import subprocess
import sys
import unittest
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import filter_rigs  # noqa: E402
from harness import (CRLF, INBOUND_HOST, E2ETestCase, Hop, RawSmtp, build_message, fetch_metrics,  # noqa: E402
                     free_port, port_accepts, relay_binary, settle, stuff, wait_for)

WAIT = 30.0
FILTER = Path(__file__).resolve().parent / "scripted_milter.py"
STAGES = ("connect", "helo", "mail", "rcpt", "data", "header", "eoh", "body", "eom")


def address_of(where) -> str:
    """A [milter.NAME] address from a loopback port, a unix socket path or an address."""
    where = str(where)
    if where.startswith(("inet:", "unix:")):
        return where
    return f"unix:{where}" if where.startswith("/") else f"inet:127.0.0.1:{where}"


def mime_with_attachment(subject: str, payload: bytes, filename: str):
    b64 = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    body = (b"--rigboundary\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee the attachment.\r\n\r\n"
            b"--rigboundary\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"" + filename.encode() + b"\"\r\n\r\n"
            + b64 + b"\r\n--rigboundary--\r\n")
    return build_message(subject=subject, body=body, extra_headers=[
        b"MIME-Version: 1.0", b'Content-Type: multipart/mixed; boundary="rigboundary"'])


class MilterCase(E2ETestCase):
    def start_milter(self, script, raw=False, name="scripted", unix_socket=None):
        """Starts a scripted filter (on a loopback port, or `unix_socket`); its script and
        events files are named after it."""
        port = unix_socket or free_port("127.0.0.1")
        self.script_path = self.dir / f"{name}-script.json"
        self.events_path = self.dir / f"{name}-events.jsonl"
        self.set_script(script)
        log = open(self.dir / f"{name}.log", "wb")
        self.addCleanup(log.close)
        args = ["/usr/bin/python3", str(FILTER), str(port), str(self.script_path), str(self.events_path)]
        proc = subprocess.Popen(args + (["--raw"] if raw else []), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
        self.addCleanup(stop)
        if unix_socket:
            wait_for(lambda: Path(unix_socket).exists(), WAIT, f"the scripted milter {name} socket")
        else:
            wait_for(lambda: port_accepts("127.0.0.1", port), WAIT, f"the scripted milter {name} listening")
        return port

    def set_script(self, script):
        self.script_path.write_text(json.dumps(script))

    def events(self, stage=None, name=None):
        path = self.dir / f"{name}-events.jsonl" if name else self.events_path
        if not path.exists():
            return []
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [r for r in rows if stage is None or r["stage"] == stage]

    def relay_with_milter(self, port, default_action="tempfail", content_timeout="10s", command_timeout="10s",
                          extra="", chain=("scripted",), sink_modes=()):
        """A relay whose inbound listener calls the filters named in `chain`; the first is
        [milter.scripted] at `port`, the others are given in `extra`."""
        self.relays = getattr(self, "relays", 0) + 1  # a sink of its own for each relay of a test
        sink = self.start_sink(f"hub{self.relays}", modes=sink_modes)
        milter = "\n".join([
            "[milter.scripted]",
            f'address = "{address_of(port)}"',
            'connect_timeout = "2s"',
            f'command_timeout = "{command_timeout}"',
            f'content_timeout = "{content_timeout}"',
            f'default_action = "{default_action}"',
            extra,
        ])
        cfg, path = self.make_config([Hop("hub", sink.port)], [Hop("smarthost", sink.port)],
                                     inbound_extra=["milters = [" + ", ".join(f'"{n}"' for n in chain) + "]"],
                                     extra_toml=milter)
        self.config_path = path
        relay = self.start_relay(cfg, path)
        return cfg, relay, sink

    def transaction(self, cfg, msg, rcpts=("bob@example.com",), sender="alice@example.net"):
        """EHLO, MAIL, RCPT, DATA and the message; returns the reply to the final dot."""
        with RawSmtp(INBOUND_HOST, cfg.inbound_port) as c:
            self.assertEqual(c.reply().code, 220)
            self.assertEqual(c.command("EHLO client.test").code, 250)
            self.assert_transaction_open(c, sender, rcpts)
            self.assertEqual(c.command("DATA").code, 354)
            c.send(stuff(msg) + b".\r\n")
            reply = c.reply()
            c.command("QUIT")
            return reply

    def dialogue(self, cfg, msg, rcpts=("bob@example.com",), sender="alice@example.net"):
        """EHLO, MAIL, each RCPT, DATA and the message, as far as the relay lets it go.
        Returns (where, reply): the command that was refused ("greeting", "EHLO", "MAIL",
        "RCPT" when every recipient was, "DATA") or "message" with the reply to the final
        dot; `self.rcpt_replies` keeps each RCPT's reply."""
        self.rcpt_replies = []
        with RawSmtp(INBOUND_HOST, cfg.inbound_port) as c:
            reply = c.reply()
            if reply.code != 220:
                return "greeting", reply
            for where, line, ok in (("EHLO", "EHLO client.test", 250), ("MAIL", f"MAIL FROM:<{sender}>", 250)):
                reply = c.command(line)
                if reply.code != ok:
                    c.command("QUIT")
                    return where, reply
            for rcpt in rcpts:
                self.rcpt_replies.append(c.command(f"RCPT TO:<{rcpt}>"))
            if not any(r.code == 250 for r in self.rcpt_replies):
                c.command("QUIT")
                return "RCPT", self.rcpt_replies[-1]
            reply = c.command("DATA")
            if reply.code != 354:
                c.command("QUIT")
                return "DATA", reply
            c.send(stuff(msg) + b".\r\n")
            reply = c.reply()
            c.command("QUIT")
            return "message", reply

    def two_in_one_session(self, cfg, subject, code):
        """Two messages in one SMTP session, each answered `code` at the final dot."""
        mids = []
        with RawSmtp(INBOUND_HOST, cfg.inbound_port) as c:
            self.assertEqual(c.reply().code, 220)
            self.assertEqual(c.command("EHLO client.test").code, 250)
            for i in range(2):
                mid, msg = build_message(subject=f"{subject} {i}")
                mids.append(mid)
                self.assert_transaction_open(c)
                self.assertEqual(c.command("DATA").code, 354)
                c.send(stuff(msg) + b".\r\n")
                self.assertEqual(c.reply().code, code)
        return mids

    def assert_nothing_delivered(self, sink, relay):
        settle(1.0)
        self.assertEqual(sink.messages(), [], "a refused message reached the sink")

    def delivered(self, sink, mid):
        return self.wait_for_message(sink, mid, WAIT)


class MilterVerdictTest(MilterCase):
    def test_continue_delivers_the_message_unchanged_and_the_filter_saw_everything(self):
        port = self.start_milter({})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="plain", body=b"line one\r\n.dot line\r\n")
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        got = self.delivered(sink, mid)
        self.assert_received_prepended(msg, got.raw)
        seen = [e["stage"] for e in self.events()]
        for stage in STAGES:
            self.assertIn(stage, seen)
        connect = self.events("connect")[0]
        self.assertEqual(connect["macros"].get("{client_addr}"), INBOUND_HOST)
        self.assertEqual(connect["macros"].get("{daemon_name}"), "inbound")
        self.assertIn("j", connect["macros"])
        self.assertEqual(self.events("mail")[0]["macros"].get("{mail_addr}"), "alice@example.net")
        self.assertEqual(self.events("rcpt")[0]["macros"].get("{rcpt_addr}"), "bob@example.com")
        self.assertTrue(self.events("eom")[0]["macros"].get("i"))
        self.assertEqual(self.events("body")[0]["text"], "line one\r\n.dot line\r\n")
        self.assertIn("milter=scripted stage=eom action=continue", relay.log_text())

    def test_reject_tempfail_and_custom_reply_at_every_stage(self):
        # Each stage's refusal answers the command it belongs to: connect and HELO the
        # next MAIL (the session goes on), MAIL that MAIL, RCPT that RCPT, DATA that
        # DATA, the content stages the final dot.
        answered_at = {"connect": "MAIL", "helo": "MAIL", "mail": "MAIL", "rcpt": "RCPT", "data": "DATA",
                       "header": "message", "eoh": "message", "body": "message", "eom": "message"}
        port = self.start_milter({})
        cfg, relay, sink = self.relay_with_milter(port)
        for stage in STAGES:
            for action, code in (("reject", 550), ("tempfail", 451)):
                with self.subTest(stage=stage, action=action):
                    self.set_script({"stages": {stage: {"action": action}}})
                    mid, msg = build_message(subject=f"{stage} {action}")
                    where, reply = self.dialogue(cfg, msg)
                    self.assertEqual((where, reply.code), (answered_at[stage], code), reply.text)
        self.set_script({"stages": {"rcpt": {"action": "reject",
                                             "reply": ["554", "5.7.9", "first line", "second line"]}}})
        mid, msg = build_message(subject="multi-line")
        where, reply = self.dialogue(cfg, msg)
        self.assertEqual((where, reply.code), ("RCPT", 554))
        self.assertIn("first line", reply.text)
        self.assertIn("second line", reply.text)
        self.assert_nothing_delivered(sink, relay)

    def test_accept_lets_the_message_through_without_the_rest(self):
        port = self.start_milter({"stages": {"mail": {"action": "accept"}}})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="accepted early")
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        self.assert_received_prepended(msg, self.delivered(sink, mid).raw)
        self.assertEqual(self.events("body"), [])

    def test_discard_answers_250_and_stores_nothing(self):
        port = self.start_milter({"stages": {"eom": {"action": "discard"}}})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="discard me")
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        self.assert_nothing_delivered(sink, relay)
        self.assertIn("action=discard", relay.log_text())

    def test_skipped_body_is_not_sent(self):
        port = self.start_milter({"negotiate": {"skip": ["body"], "noreply": ["header"]}})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="no body wanted")
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        self.delivered(sink, mid)
        self.assertEqual(self.events("body"), [])
        self.assertTrue(self.events("header"))
        self.assertTrue(self.events("eom"))

    def test_skip_ends_the_body_early(self):
        port = self.start_milter({"stages": {"body": {"action": "skip"}}})
        cfg, relay, sink = self.relay_with_milter(port)
        body = b"".join(b"line %06d %s\r\n" % (i, b"y" * 60) for i in range(3000))  # several chunks
        mid, msg = build_message(subject="skip", body=body)
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        self.assert_received_prepended(msg, self.delivered(sink, mid).raw)
        self.assertEqual(len(self.events("body")), 1)
        self.assertTrue(self.events("eom"))

    def test_connect_refusal_holds_for_the_whole_session(self):
        # As Postfix: the greeting and EHLO go on, every MAIL gets the filter's reply,
        # the client may QUIT; the filter is not asked again.
        port = self.start_milter({"stages": {"connect": {"action": "reject",
                                                         "reply": ["554", "5.7.1", "not from here"]}}})
        cfg, relay, sink = self.relay_with_milter(port)
        with RawSmtp(INBOUND_HOST, cfg.inbound_port) as c:
            self.assertEqual(c.reply().code, 220)
            self.assertEqual(c.command("EHLO client.test").code, 250)
            for _ in range(2):
                reply = c.command("MAIL FROM:<alice@example.net>")
                self.assertEqual((reply.code, reply.enhanced), (554, "5.7.1"), reply.text)
                self.assertIn("not from here", reply.text)
                self.assertEqual(c.command("RCPT TO:<bob@example.com>").code, 503)
            self.assertEqual(c.command("QUIT").code, 221)
        self.assertEqual(self.events("helo"), [])  # not asked again
        self.assertEqual(self.events("mail"), [])
        self.assert_nothing_delivered(sink, relay)

    def test_tempfail_at_mail_answers_that_mail(self):
        port = self.start_milter({"stages": {"mail": {"action": "tempfail"}}})
        cfg, relay, sink = self.relay_with_milter(port)
        with RawSmtp(INBOUND_HOST, cfg.inbound_port) as c:
            self.assertEqual(c.reply().code, 220)
            self.assertEqual(c.command("EHLO client.test").code, 250)
            self.assertEqual(c.command("MAIL FROM:<alice@example.net>").code, 451)
            self.assertEqual(c.command("RCPT TO:<bob@example.com>").code, 503)  # no transaction began
            self.set_script({})
            self.assert_transaction_open(c, rcpts=("dave@example.com",))
            self.assertEqual(c.command("RSET").code, 250)
            mid, msg = build_message(subject="after a tempfail")
            self.assert_transaction_open(c)
            self.assert_data_accepted(c, msg)
        self.assert_received_prepended(msg, self.delivered(sink, mid).raw)
        self.assertEqual(len(self.events("abort")), 1)  # the reset transaction ended before the next
        self.assertEqual([e["rcpt"] for e in self.events("rcpt")], ["<dave@example.com>", "<bob@example.com>"])

    def test_rcpt_refusal_refuses_only_that_recipient(self):
        port = self.start_milter({"stages": {"rcpt": {"action": "reject", "match": "<carol@example.com>"}}})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="one of two")
        where, reply = self.dialogue(cfg, msg, rcpts=("carol@example.com", "bob@example.com"))
        self.assertEqual((where, reply.code), ("message", 250), reply.text)
        self.assertEqual([r.code for r in self.rcpt_replies], [550, 250])
        got = self.delivered(sink, mid)
        self.assertEqual(got.rcpt_tos, ["bob@example.com"])
        self.assert_received_prepended(msg, got.raw)
        settle(1.0)
        self.assertEqual(len(sink.messages()), 1)

    def test_custom_multi_line_reply_at_rcpt(self):
        port = self.start_milter({"stages": {"rcpt": {"action": "tempfail", "match": "<carol@example.com>",
                                                      "reply": ["452", "4.2.2", "mailbox full", "try later"]}}})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="custom at rcpt")
        where, reply = self.dialogue(cfg, msg, rcpts=("carol@example.com", "bob@example.com"))
        self.assertEqual((where, reply.code), ("message", 250), reply.text)
        refused = self.rcpt_replies[0]
        self.assertEqual((refused.code, refused.enhanced), (452, "4.2.2"))
        self.assertIn("mailbox full", refused.text)
        self.assertIn("try later", refused.text)
        self.assertEqual(self.delivered(sink, mid).rcpt_tos, ["bob@example.com"])

    def test_accept_at_rcpt_ends_the_filters_part_in_the_message(self):
        port = self.start_milter({"stages": {"rcpt": {"action": "accept"}}})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="accepted at rcpt")
        where, reply = self.dialogue(cfg, msg, rcpts=("bob@example.com", "carol@example.com"))
        self.assertEqual((where, reply.code), ("message", 250), reply.text)
        self.assert_received_prepended(msg, self.delivered(sink, mid).raw)
        self.assertEqual(len(self.events("rcpt")), 1)  # not asked about the second recipient
        for stage in ("data", "header", "eoh", "body", "eom"):
            self.assertEqual(self.events(stage), [], stage)

    def test_discard_at_rcpt_discards_the_message(self):
        port = self.start_milter({"stages": {"rcpt": {"action": "discard"}}})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="discarded at rcpt")
        where, reply = self.dialogue(cfg, msg)
        self.assertEqual((where, reply.code), ("message", 250), reply.text)
        self.assert_nothing_delivered(sink, relay)
        self.assertEqual(self.events("eom"), [])

    def test_unix_socket(self):
        path = str(self.dir / "milter.sock")
        self.start_milter({"stages": {"eom": {"mods": [{"op": "addheader", "name": "X-Unix", "value": "1"}]}}},
                          unix_socket=path)
        cfg, relay, sink = self.relay_with_milter(path)
        mid, msg = build_message(subject="over a unix socket")
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        self.assertIn(b"X-Unix: 1" + CRLF + CRLF, self.delivered(sink, mid).raw)

    def test_two_messages_reuse_one_filter_connection(self):
        port = self.start_milter({})
        cfg, relay, sink = self.relay_with_milter(port)
        for mid in self.two_in_one_session(cfg, "reuse", 250):
            self.delivered(sink, mid)
        # One filter connection: connect and HELO once (the relay's readiness probe is a
        # session of its own, connected but never greeted).
        self.assertEqual(len(self.events("helo")), 1)
        self.assertEqual(len(self.events("eom")), 2)


class MilterChainTest(MilterCase):
    def test_filters_run_in_order_and_see_earlier_edits(self):
        second = self.start_milter({"stages": {"eom": {"mods": [
            {"op": "addheader", "name": "X-Second", "value": "2"}]}}}, name="second")
        first = self.start_milter({"stages": {"eom": {"mods": [
            {"op": "addheader", "name": "X-First", "value": "1"}]}}}, name="first")
        extra = f'\n[milter.second]\naddress = "inet:127.0.0.1:{second}"\n'
        cfg, relay, sink = self.relay_with_milter(first, extra=extra, chain=("scripted", "second"))
        mid, msg = build_message(subject="chain")
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        raw = self.delivered(sink, mid).raw
        self.assertIn(b"X-First: 1" + CRLF + b"X-Second: 2" + CRLF + CRLF, raw)
        seen_by_second = [e["name"] for e in self.events("header", name="second")]
        self.assertIn("X-First", seen_by_second)

    def test_first_refusal_stops_the_chain(self):
        second = self.start_milter({}, name="second")
        first = self.start_milter({"stages": {"mail": {"action": "reject"}}}, name="first")
        extra = f'\n[milter.second]\naddress = "inet:127.0.0.1:{second}"\n'
        cfg, relay, sink = self.relay_with_milter(first, extra=extra, chain=("scripted", "second"))
        mid, msg = build_message(subject="chain refused")
        where, reply = self.dialogue(cfg, msg)
        self.assertEqual((where, reply.code), ("MAIL", 550))
        self.assertEqual(self.events("mail", name="second"), [])
        self.assert_nothing_delivered(sink, relay)


class MilterModificationTest(MilterCase):
    def test_header_edits_arrive_byte_for_byte(self):
        mods = [{"op": "addheader", "name": "X-Spam-Flag", "value": "YES"},
                {"op": "addheader", "name": "X-Folded", "value": "one\n\ttwo"},
                {"op": "addheader", "name": "X-Top", "value": "first", "idx": 0},
                {"op": "chgheader", "name": "Subject", "idx": 1, "value": "[SPAM] changed"},
                {"op": "chgheader", "name": "X-Remove", "idx": 1, "value": ""}]
        port = self.start_milter({"stages": {"eom": {"mods": mods}}})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="original", extra_headers=[b"X-Remove: gone"])
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        raw = self.delivered(sink, mid).raw
        head, _, body = raw.partition(CRLF + CRLF)
        lines = head.split(CRLF)
        self.assertEqual(lines[0], b"X-Top: first")
        self.assertTrue(lines[1].startswith(b"Received: from "))
        self.assertIn(b"Subject: [SPAM] changed", lines)
        self.assertNotIn(b"Subject: original", lines)
        self.assertFalse(any(line.startswith(b"X-Remove") for line in lines))
        self.assertTrue(head.endswith(b"X-Spam-Flag: YES" + CRLF + b"X-Folded: one" + CRLF + b"\ttwo"))
        self.assertEqual(body, b"Hello.\r\n")
        self.assertNotIn(b"\n", raw.replace(CRLF, b""))

    def test_replaced_body_only_has_crlf_line_ends(self):
        port = self.start_milter({"stages": {"eom": {"mods": [
            {"op": "replbody", "body": "new\nbody\rwith bare ends\r\n.\nlast"}]}}})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="body replaced")
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        raw = self.delivered(sink, mid).raw
        self.assertTrue(raw.endswith(CRLF + CRLF + b"new\r\nbody\r\nwith bare ends\r\n.\r\nlast\r\n"), raw[-80:])

    def test_envelope_edits(self):
        port = self.start_milter({"stages": {"eom": {"mods": [
            {"op": "chgfrom", "sender": "<changed@example.net>", "params": None},
            {"op": "addrcpt", "rcpt": "<carol@example.com>", "params": None},
            {"op": "delrcpt", "rcpt": "<bob@example.com>"}]}}})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="envelope")
        self.assertEqual(self.transaction(cfg, msg, rcpts=("bob@example.com", "dave@example.com")).code, 250)
        got = self.delivered(sink, mid)
        self.assertEqual(got.mail_from, "changed@example.net")
        wait_for(lambda: sorted(r for m in sink.messages() for r in m.rcpt_tos) ==
                 ["carol@example.com", "dave@example.com"], WAIT, "the edited recipients")

    def test_large_spooled_body_is_streamed_and_edited(self):
        port = self.start_milter({"stages": {"eom": {"mods": [
            {"op": "addheader", "name": "X-Scanned", "value": "yes"}]}}})
        cfg, relay, sink = self.relay_with_milter(port)
        body = b"".join(b"line %06d %s\r\n" % (i, b"x" * 60) for i in range(4000))  # about 290 KiB
        mid, msg = build_message(subject="large", body=body)
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        raw = self.delivered(sink, mid).raw
        self.assertTrue(raw.endswith(b"X-Scanned: yes" + CRLF + CRLF + body))
        self.assertEqual(sum(e["size"] for e in self.events("body")), len(body))
        self.assertTrue(all(e["size"] <= 65535 for e in self.events("body")))

    def test_header_edits_of_a_spooled_message_leave_its_file_as_received(self):
        mods = [{"op": "addheader", "name": "X-Spam-Flag", "value": "YES"},
                {"op": "chgheader", "name": "Subject", "idx": 1, "value": "[SPAM] changed"},
                {"op": "chgheader", "name": "X-Remove", "idx": 1, "value": ""},
                {"op": "quarantine", "reason": "held large"}]
        port = self.start_milter({"stages": {"eom": {"mods": mods}}})
        cfg, relay, sink = self.relay_with_milter(port)
        body = b"".join(b"line %06d %s\r\n" % (i, b"y" * 60) for i in range(2000))  # about 145 KiB: spooled
        mid, msg = build_message(subject="original", body=body, extra_headers=[b"X-Remove: gone"])
        reply = self.transaction(cfg, msg)
        self.assertEqual(reply.code, 250)
        qid = reply.lines[-1].rsplit(" ", 1)[-1]
        edited = (msg.replace(b"Subject: original\r\n", b"Subject: [SPAM] changed\r\n")
                  .replace(b"X-Remove: gone\r\n", b"")
                  .replace(CRLF + CRLF, CRLF + b"X-Spam-Flag: YES" + CRLF + CRLF, 1))
        # The one spool file is the message as it was received: the edits were not copied in.
        spool = Path(cfg.state_dir) / "spool"
        files = sorted(spool.iterdir())
        self.assertEqual(len(files), 1, [f.name for f in files])
        self.assert_received_prepended(msg, files[0].read_bytes())
        shown = subprocess.run([relay_binary(), "queue", "show", qid, "--eml", "--config", str(self.config_path)],
                               capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        received = self.assert_received_prepended(edited, shown.stdout)
        released = subprocess.run([relay_binary(), "queue", "release", "--all", "--config", str(self.config_path)],
                                  capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(released.returncode, 0, released.stderr)
        self.assertEqual(self.delivered(sink, mid).raw, received + edited)

    def test_ret_hdrs_report_of_a_spooled_message_has_the_edited_header_section(self):
        port = self.start_milter({"stages": {"eom": {"mods": [
            {"op": "addheader", "name": "X-Scanned", "value": "yes"},
            {"op": "chgheader", "name": "Subject", "idx": 1, "value": "edited"}]}}})
        cfg, relay, sink = self.relay_with_milter(port, sink_modes=["permfail-rcpt=bad@example.com"])
        body = b"".join(b"line %06d %s\r\n" % (i, b"h" * 60) for i in range(2000))  # spooled
        _, msg = build_message(subject="original", to=["bad@example.com"], body=body)
        with RawSmtp(INBOUND_HOST, cfg.inbound_port) as c:
            self.assertEqual(c.reply().code, 220)
            self.assertEqual(c.command("EHLO client.test").code, 250)
            self.assert_transaction_open(c, rcpts=("bad@example.com",), mail_params=" RET=HDRS")
            self.assert_data_accepted(c, msg)
        report = wait_for(lambda: [m for m in sink.messages() if m.mail_from in ("", "<>")], WAIT,
                          "the report to the sender")[0].raw
        head = msg.split(CRLF + CRLF, 1)[0].replace(b"Subject: original", b"Subject: edited")
        self.assertIn(head + CRLF + b"X-Scanned: yes" + CRLF + CRLF, report)
        self.assertNotIn(b"Subject: original", report, "only the edited header section, once")
        self.assertNotIn(body[:200], report, "RET=HDRS: no body")

    def test_chained_header_edits_of_a_spooled_message(self):
        second = self.start_milter({"stages": {"eom": {"mods": [
            {"op": "chgheader", "name": "Subject", "idx": 1, "value": "second"}]}}}, name="second")
        first = self.start_milter({"stages": {"eom": {"mods": [
            {"op": "addheader", "name": "X-First", "value": "1"},
            {"op": "chgheader", "name": "Subject", "idx": 1, "value": "first"}]}}}, name="first")
        extra = f'\n[milter.second]\naddress = "inet:127.0.0.1:{second}"\n'
        cfg, relay, sink = self.relay_with_milter(first, extra=extra, chain=("scripted", "second"))
        body = b"".join(b"line %06d %s\r\n" % (i, b"z" * 60) for i in range(2000))
        mid, msg = build_message(subject="chain", body=body)
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        raw = self.delivered(sink, mid).raw
        edited = msg.replace(b"Subject: chain\r\n", b"Subject: second\r\n").replace(
            CRLF + CRLF, CRLF + b"X-First: 1" + CRLF + CRLF, 1)
        self.assert_received_prepended(edited, raw)
        seen = {e["name"]: e["value"] for e in self.events("header", name="second")}
        self.assertEqual((seen.get("X-First"), seen.get("Subject")), ("1", "first"))
        self.assertEqual("".join(e["text"] for e in self.events("body", name="second")).encode("latin-1"), body)

    def test_bdat_goes_through_the_same_path(self):
        port = self.start_milter({"stages": {"eom": {"mods": [
            {"op": "addheader", "name": "X-Chunked", "value": "seen"}]}}})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="bdat")
        with RawSmtp(INBOUND_HOST, cfg.inbound_port) as c:
            self.assertEqual(c.reply().code, 220)
            self.assertEqual(c.command("EHLO client.test").code, 250)
            self.assert_transaction_open(c)
            c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
            self.assertEqual(c.reply().code, 250)
        raw = self.delivered(sink, mid).raw
        self.assertIn(b"X-Chunked: seen" + CRLF + CRLF, raw)

    def test_quarantine_holds_until_release(self):
        port = self.start_milter({"stages": {"eom": {"mods": [{"op": "quarantine", "reason": "suspicious"}]}}})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="quarantined")
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        settle(1.5)
        self.assertEqual(sink.messages(), [])
        listed = subprocess.run([relay_binary(), "queue", "list", "--state", "held", "--config", str(self.config_path)],
                                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("quarantined by milter scripted: suspicious", listed.stdout)
        released = subprocess.run([relay_binary(), "queue", "release", "--all", "--config", str(self.config_path)],
                                  capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(released.returncode, 0, released.stderr)
        self.assert_received_prepended(msg, self.delivered(sink, mid).raw)


class MilterFailureTest(MilterCase):
    def test_filter_not_listening_gets_each_default_action(self):
        # The filter fails at connect: its default action is the connect stage's answer
        # (shutdown: 421 instead of the greeting; a refusal: every MAIL gets it).
        for action, where_code in (("tempfail", ("MAIL", 451)), ("reject", ("MAIL", 550)),
                                   ("accept", ("message", 250)), ("shutdown", ("greeting", 421))):
            with self.subTest(action=action):
                port = free_port("127.0.0.1")  # nothing listens there
                cfg, relay, sink = self.relay_with_milter(port, default_action=action)
                mid, msg = build_message(subject=f"down {action}")
                where, reply = self.dialogue(cfg, msg)
                self.assertEqual((where, reply.code), where_code, reply.text)
                if action == "accept":
                    self.delivered(sink, mid)
                else:
                    self.assert_nothing_delivered(sink, relay)
                if action == "shutdown":
                    self.assertEqual(reply.enhanced, "4.7.0")
                relay.stop()

    def test_a_failed_filter_is_marked_down_for_every_session(self):
        port = free_port("127.0.0.1")  # nothing listens there
        admin = free_port("127.0.0.1")
        cfg, relay, sink = self.relay_with_milter(port, default_action="tempfail",
                                                  extra=f'\n[admin]\nlisten = "127.0.0.1:{admin}"')
        for i in range(2):
            mid, msg = build_message(subject=f"down {i}")
            where, reply = self.dialogue(cfg, msg)
            self.assertEqual((where, reply.code), ("MAIL", 451))
        self.assertIn("marked down after a recent failure", relay.log_text())
        self.assert_nothing_delivered(sink, relay)
        metrics = fetch_metrics(admin)
        # Once per inbound session, at its connect (the readiness probe's session too).
        sessions = metrics.get('hubrelay_connections_accepted_total{listener="inbound",direction="inbound"}')
        self.assertGreaterEqual(sessions, 2.0)
        self.assertEqual(metrics.get('hubrelay_milter_actions_total{listener="inbound",direction="inbound",'
                                     'milter="scripted",stage="negotiate",action="default_tempfail"}'), sessions,
                         metrics)
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/api/status", timeout=10) as r:
            status = json.loads(r.read().decode())
        self.assertEqual(status["milters"][0]["name"], "scripted")
        self.assertFalse(status["milters"][0]["up"])
        self.assertIn("connect", status["milters"][0]["last_error"])

    def test_timeout_at_end_of_message(self):
        port = self.start_milter({"stages": {"eom": {"delay": 4}}})
        cfg, relay, sink = self.relay_with_milter(port, content_timeout="1s")
        mid, msg = build_message(subject="slow filter")
        self.assertEqual(self.transaction(cfg, msg).code, 451)
        self.assert_nothing_delivered(sink, relay)
        self.assertIn("reply timed out", relay.log_text())

    def test_progress_keeps_a_slow_filter_alive(self):
        port = self.start_milter({"stages": {"eom": {"delay": 3, "progress": True}}})
        cfg, relay, sink = self.relay_with_milter(port, content_timeout="2s")
        mid, msg = build_message(subject="slow with progress")
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        self.delivered(sink, mid)

    def test_filter_dying_mid_body(self):
        port = self.start_milter({"stages": {"body": {"die": True}}})
        cfg, relay, sink = self.relay_with_milter(port)
        mid, msg = build_message(subject="filter dies")
        self.assertEqual(self.transaction(cfg, msg).code, 451)
        self.assert_nothing_delivered(sink, relay)

    def test_malformed_and_oversize_replies(self):
        cases = {
            "unknown code": "0000000158",                                      # 'X'
            "reply code 250": "00000009793235302062616400",                    # y"250 bad"
            "header injection": "0000001168582d41006f6e650d0a4263633a207800",  # h"X-A" "one\r\nBcc: x"
            "oversize": "7fffffff63",
        }
        port = self.start_milter({}, raw=True)
        for name, hexbytes in cases.items():
            with self.subTest(case=name):
                self.set_script({"raw": {"stage": "eom", "hex": hexbytes}})
                cfg, relay, sink = self.relay_with_milter(port)
                mid, msg = build_message(subject=f"malformed {name}")
                self.assertEqual(self.transaction(cfg, msg).code, 451)
                self.assert_nothing_delivered(sink, relay)
                relay.stop()



class RigCase(MilterCase):
    """hubrelay as the MTA in front of a real filter (tests/e2e/filter_rigs.py)."""
    binaries = ()

    def setUp(self):
        super().setUp()
        missing = [b for b in self.binaries if shutil.which(b) is None]
        if missing:
            self.skipTest("not installed: " + ", ".join(missing))

    def start_rig(self, rig):
        self.addCleanup(rig.stop)
        rig.start()
        self._logs.extend(rig.logs)
        return rig


class RspamdThroughHubrelayTest(RigCase):
    binaries = ("rspamd", "rspamadm")

    def test_marker_rejected_and_header_added(self):
        rig = self.start_rig(filter_rigs.RspamdRig(self.dir))
        cfg, relay, sink = self.relay_with_milter(rig.milter, default_action="tempfail")
        mid, msg = build_message(subject=f"buy now {filter_rigs.REJECT_MARKER}")
        reply = self.transaction(cfg, msg)
        self.assertEqual(reply.code // 100, 5, reply.text)
        self.assertIn(filter_rigs.RspamdRig.REJECT_TEXT, reply.text)
        body = b"Line one.\r\n.leading dot\r\n\r\nLast line.\r\n"
        mid_clean, clean = build_message(subject="clean", body=body)
        self.assertEqual(self.transaction(cfg, clean).code, 250)
        raw = self.delivered(sink, mid_clean).raw
        head, _, got_body = raw.partition(CRLF + CRLF)
        added = ("%s: %s" % filter_rigs.ADDED_HEADER).encode()
        self.assertEqual(head.split(CRLF).count(added), 1, head)
        self.assertEqual(got_body, body)
        self.assertEqual([m for m in sink.messages() if mid in m.raw.decode(errors="replace")], [])


class ClamavThroughHubrelayTest(RigCase):
    binaries = ("clamd", "clamav-milter")

    def test_eicar_rejected(self):
        rig = self.start_rig(filter_rigs.ClamavRig(self.dir))
        cfg, relay, sink = self.relay_with_milter(rig.milter, content_timeout="60s")
        mid, msg = mime_with_attachment("invoice", filter_rigs.EICAR, "eicar.com")
        reply = self.transaction(cfg, msg)
        self.assertEqual(reply.code // 100, 5, reply.text)
        self.assertIn(filter_rigs.EICAR_SIGNATURE, reply.text)
        mid_clean, clean = mime_with_attachment("report", b"quarterly figures\n" * 40, "report.txt")
        self.assertEqual(self.transaction(cfg, clean).code, 250)
        self.assertIn(b"X-Virus-Status: Clean", self.delivered(sink, mid_clean).raw)
        self.assertEqual([m for m in sink.messages() if mid in m.raw.decode(errors="replace")], [])

    def test_eicar_quarantined_is_held(self):
        rig = self.start_rig(filter_rigs.ClamavRig(self.dir, on_infected="Quarantine"))
        cfg, relay, sink = self.relay_with_milter(rig.milter, content_timeout="60s")
        mid, msg = mime_with_attachment("invoice", filter_rigs.EICAR, "eicar.com")
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        def held():
            listed = subprocess.run([relay_binary(), "queue", "list", "--state", "held", "--config",
                                     str(self.config_path)], capture_output=True, text=True, timeout=60,
                                    stdin=subprocess.DEVNULL)
            return "quarantined by milter scripted" in listed.stdout
        wait_for(held, WAIT, "the quarantined message held in the queue")
        self.assertEqual(sink.messages(), [])


class OpenDkimThroughHubrelayTest(RigCase):
    binaries = ("opendkim", "opendkim-genkey")

    def test_signature_arrives_and_verifies(self):
        try:
            __import__("dkim")
        except ImportError:
            self.skipTest("python3-dkim not installed")
        from dkim_verify import verify_python
        rig = self.start_rig(filter_rigs.OpenDkimRig(self.dir, domain="example.net", selector="rig"))
        cfg, relay, sink = self.relay_with_milter(rig.milter)
        mid, msg = build_message(subject="sign me", body=b"Signed body.\r\nSecond line.\r\n")
        self.assertEqual(self.transaction(cfg, msg).code, 250)
        raw = self.delivered(sink, mid).raw
        self.assertIn(b"DKIM-Signature:", raw)
        verdict = verify_python(raw, "example.net", "rig", rig.public_txt)
        self.assertTrue(verdict.ok, verdict.detail)
        tampered = verify_python(raw.replace(b"Second line.", b"Second line!"), "example.net", "rig", rig.public_txt)
        self.assertFalse(tampered.ok)


if __name__ == "__main__":
    unittest.main()

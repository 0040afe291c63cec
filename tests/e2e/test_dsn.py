#!/usr/bin/python3
"""tests/e2e/test_dsn.py — DSN (RFC 3461) and SMTPUTF8 (RFC 6531) through the relay.

Owns: RET/ENVID/NOTIFY/ORCPT passed on to a hop that offers DSN and dropped for one
that does not (plus the "relayed" notice NOTIFY=SUCCESS then asks for); NOTIFY=NEVER
suppressing the bounce and NOTIFY=FAILURE producing one with Original-Recipient; a
SMTPUTF8 message with a UTF-8 recipient delivered byte-exact to a hop offering
SMTPUTF8 and bounced with 5.6.7 when the hop does not offer it.
Never: asserts timing; waits are bounded; everything stays on 127.0.0.0/8.
The sinks are tests/e2e/sink.py with modes "dsn" / "no-smtputf8" (aiosmtpd upper-cases
the parameters it stores). Standards: RFC 3461, RFC 3464, RFC 6531.
"""

import email
import email.policy
import socket
import ssl
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (INBOUND_HOST, OUTBOUND_HOST, E2ETestCase, Hop, build_message,  # noqa: E402
                     run_cli, settle, smtp_connect, wait_for)
from test_tls import client_context, make_certificate  # noqa: E402

WAIT = 60.0
SENDER = "carol@example.com"  # an accepted domain: notices go the inbound route (HUB sink)


class DsnCase(E2ETestCase):
    def setup_relay(self, smarthost_modes):
        self.hub = self.start_sink("hub")
        self.smarthost = self.start_sink("smarthost", modes=smarthost_modes)
        self.cfg, path = self.make_config([Hop("hub", self.hub.port)],
                                          [Hop("smarthost", self.smarthost.port)])
        self.relay = self.start_relay(self.cfg, path)

    def send(self, rcpts, msg, mail_options=()):
        """rcpts: [(address, [rcpt options])]. Every step must succeed. Returns the queue id."""
        with smtp_connect(OUTBOUND_HOST, self.cfg.outbound_port) as s:
            code, text = s.mail(SENDER, list(mail_options))
            self.assertEqual(code, 250, text)
            for address, options in rcpts:
                code, text = s.rcpt(address, list(options))
                self.assertEqual(code, 250, (address, options, text))
            code, text = s.data(msg)
            self.assertEqual(code, 250, text)
            return text.decode().rsplit(" ", 1)[-1]  # "2.0.0 Ok: queued as QUEUEID"

    def notices(self):
        return [m for m in self.hub.messages() if m.mail_from in ("", "<>")]

    def report_blocks(self, notice):
        report = email.message_from_bytes(notice.raw, policy=email.policy.compat32)
        self.assertEqual(report.get_content_type(), "multipart/report")
        return report.get_payload()[1].get_payload()


class DsnParametersTest(DsnCase):
    def test_hop_offering_dsn_gets_exactly_the_parameters(self):
        self.setup_relay(["dsn"])
        mid, msg = build_message(sender=SENDER, to=["x@remote.example"], subject="dsn pass-through")
        self.send([("x@remote.example", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;x@y.example"])], msg,
                  ["RET=HDRS", "ENVID=QQ+2B123"])
        got = self.wait_for_message(self.smarthost, mid, WAIT)
        self.assertIn("RET=HDRS", got.meta["mail_options"])
        self.assertIn("ENVID=QQ+2B123", got.meta["mail_options"])
        self.assertEqual(got.meta["rcpt_options"], ["NOTIFY=SUCCESS,FAILURE", "ORCPT=RFC822;X@Y.EXAMPLE"])
        settle(2.0)
        self.assertEqual(self.notices(), [], "the DSN hop takes over NOTIFY=SUCCESS; no notice from us")

    def test_hop_without_dsn_gets_none_and_success_is_reported_as_relayed(self):
        self.setup_relay([])
        mid, msg = build_message(sender=SENDER, to=["x@remote.example"], subject="dsn dropped")
        self.send([("x@remote.example", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;orig+2Bx@y.example"])], msg,
                  ["RET=HDRS", "ENVID=QQ123"])
        got = self.wait_for_message(self.smarthost, mid, WAIT)
        self.assertFalse([o for o in got.meta["mail_options"] if o.startswith(("RET=", "ENVID="))],
                         got.meta["mail_options"])
        self.assertEqual(got.meta["rcpt_options"], [])
        notice = wait_for(self.notices, WAIT, "a relayed notice at the HUB sink")[0]
        self.assertEqual(notice.rcpt_tos, [SENDER])
        blocks = self.report_blocks(notice)
        self.assertEqual(blocks[0]["Original-Envelope-Id"], "QQ123")
        self.assertEqual(blocks[1]["Action"], "relayed")
        self.assertEqual(blocks[1]["Original-Recipient"], "rfc822;orig+x@y.example")
        self.assertEqual(blocks[1]["Final-Recipient"], "rfc822; x@remote.example")

    def test_no_notify_and_no_dsn_hop_sends_no_notice(self):
        self.setup_relay([])
        mid, msg = build_message(sender=SENDER, to=["x@remote.example"], subject="plain")
        self.send([("x@remote.example", [])], msg)
        self.wait_for_message(self.smarthost, mid, WAIT)
        settle(2.0)
        self.assertEqual(self.notices(), [])


class QueueShowTest(DsnCase):
    def test_queue_show_lists_recipient_parameters(self):
        self.setup_relay(["tempfail"])  # the message stays queued
        _, msg = build_message(sender=SENDER, to=["x@remote.example"], subject="show")
        qid = self.send([("x@remote.example", ["NOTIFY=DELAY", "ORCPT=rfc822;o@remote.example"]),
                         ("y@remote.example", [])], msg, ["RET=FULL"])
        shown = run_cli(["queue", "show", qid, "--config", str(self.dir / "hubrelay.toml")])
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("<x@remote.example>", shown.stdout)
        self.assertIn("parameters: NOTIFY=DELAY ORCPT=rfc822;o@remote.example", shown.stdout)
        self.assertEqual(shown.stdout.count("parameters:"), 1, shown.stdout)
        self.assertIn("RET=FULL", shown.stdout)


class NotifyBounceTest(DsnCase):
    def test_never_suppresses_and_failure_reports_with_original_recipient(self):
        self.setup_relay(["permfail-rcpt=bad1@remote.example", "permfail-rcpt=bad2@remote.example"])
        mid, msg = build_message(sender=SENDER, to=["good@remote.example"], subject="notify")
        self.send([("good@remote.example", []),
                   ("bad1@remote.example", ["NOTIFY=NEVER"]),
                   ("bad2@remote.example", ["NOTIFY=FAILURE", "ORCPT=rfc822;orig2@remote.example"])], msg)
        self.wait_for_message(self.smarthost, mid, WAIT)
        bounce = wait_for(self.notices, WAIT, "a bounce at the HUB sink")[0]
        blocks = self.report_blocks(bounce)
        recipients = blocks[1:]
        self.assertEqual(len(recipients), 1, "NOTIFY=NEVER must not be reported")
        self.assertEqual(recipients[0]["Final-Recipient"], "rfc822; bad2@remote.example")
        self.assertEqual(recipients[0]["Original-Recipient"], "rfc822;orig2@remote.example")
        self.assertEqual(recipients[0]["Action"], "failed")
        settle(2.0)
        self.assertEqual(len(self.notices()), 1)

    def test_never_alone_gives_no_bounce_at_all(self):
        self.setup_relay(["permfail-rcpt=bad1@remote.example"])
        _, msg = build_message(sender=SENDER, to=["bad1@remote.example"], subject="never")
        self.send([("bad1@remote.example", ["NOTIFY=NEVER"])], msg)
        wait_for(lambda: "status=failed" in self.relay.log_text(), WAIT, "the permanent failure")
        settle(2.0)
        self.assertEqual(self.notices(), [])


UTF8_RCPT = "j\u00fcrgen@b\u00fccher.example"


class Smtputf8Test(DsnCase):
    def utf8_message(self, subject):
        mid, msg = build_message(sender=SENDER, to=["someone@remote.example"], subject=subject)
        # An 8-bit header line as a SMTPUTF8 client may send (RFC 6532).
        msg = msg.replace(b"\r\n\r\n", "\r\nX-Name: J\u00fcrgen\r\n\r\n".encode(), 1)
        return mid, msg

    def test_utf8_recipient_delivered_byte_exact_to_a_smtputf8_hop(self):
        self.setup_relay([])
        mid, msg = self.utf8_message("utf8 ok")
        self.send([(UTF8_RCPT, [])], msg, ["SMTPUTF8", "BODY=8BITMIME"])
        got = self.wait_for_message(self.smarthost, mid, WAIT)
        self.assertEqual(got.rcpt_tos, [UTF8_RCPT])
        self.assertIn("SMTPUTF8", got.meta["mail_options"])
        self.assert_received_prepended(msg, got.raw)

    def test_hop_without_smtputf8_bounces_with_5_6_7(self):
        self.setup_relay(["no-smtputf8"])
        mid, msg = self.utf8_message("utf8 bounce")
        self.send([(UTF8_RCPT, [])], msg, ["SMTPUTF8", "BODY=8BITMIME"])
        bounce = wait_for(self.notices, WAIT, "a 5.6.7 bounce at the HUB sink")[0]
        blocks = self.report_blocks(bounce)
        self.assertEqual(blocks[1]["Action"], "failed")
        self.assertEqual(blocks[1]["Status"], "5.6.7")
        self.assertIn("SMTPUTF8", blocks[1]["Diagnostic-Code"])
        self.assertEqual(self.smarthost.messages(), [])

    def test_utf8_recipient_without_smtputf8_is_refused(self):
        self.setup_relay([])
        with smtp_connect(OUTBOUND_HOST, self.cfg.outbound_port) as s:
            self.assertEqual(s.mail(SENDER)[0], 250)
            s.command_encoding = "utf-8"  # smtplib would refuse to send it otherwise
            code, text = s.rcpt(UTF8_RCPT)
            self.assertEqual(code, 553, text)
            self.assertIn(b"5.6.7", text)


class TlsCloseNotifyTest(E2ETestCase):
    """Issue hardening item: a graceful end of a TLS session sends close_notify."""

    def test_quit_on_implicit_tls_ends_with_close_notify(self):
        cert, key = make_certificate(self.dir)
        lines = ['tls = "implicit"', f'tls_certificate = "{cert}"', f'tls_key = "{key}"']
        cfg, _, _ = self.relay_with_one_sink(inbound_extra=lines)
        context = client_context()
        # Python sets OP_IGNORE_UNEXPECTED_EOF by default, which would hide a missing
        # close_notify: clear it so a bare TCP close raises SSLEOFError.
        context.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
        raw = socket.create_connection((INBOUND_HOST, cfg.inbound_port), timeout=30)
        tls = context.wrap_socket(raw, server_hostname="relay.test")
        try:
            f = tls.makefile("rb")
            self.assertTrue(f.readline().startswith(b"220"))
            tls.sendall(b"QUIT\r\n")
            self.assertTrue(f.readline().startswith(b"221"))
            f.close()
            # After the 221 the next read is the end of the TLS stream: b"" with the
            # server's close_notify, SSLEOFError without it.
            self.assertEqual(tls.recv(1), b"")
        except (ssl.SSLError, OSError) as e:
            self.fail(f"no TLS close_notify from the server: {e!r}")
        finally:
            tls.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)

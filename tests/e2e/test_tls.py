#!/usr/bin/python3
"""tests/e2e/test_tls.py — STARTTLS, implicit TLS, BDAT, line-ending policy and early
talkers against the real binary.

Owns: a throw-away self-signed certificate per test (openssl req -x509 into the test's
temp dir; no key is ever committed); STARTTLS with smtplib, swaks and openssl s_client;
the STARTTLS command-injection test (CVE-2011-0411 class) that checks byte for byte what
reaches the sink; a second STARTTLS answered 503; tls = "required" refusing MAIL in
plaintext; a failed handshake closing the session; implicit TLS (port 465 style); BDAT
sessions pipelined over a raw socket; bare_line_endings = "reject" vs "normalize"; and
greeting_delay's 554 to a client that talks before the banner.
Never: asserts timing; "nothing happened" is checked after a bounded settle().
Standards: RFC 3207, RFC 8314, RFC 3030, RFC 5321 §3.1 and §4.1.1.4.
"""

import base64
import shutil
import smtplib
import ssl
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (INBOUND_HOST, E2ETestCase, RawSmtp, build_message,  # noqa: E402
                     relay_binary, settle, stuff, unfold, wait_for,
                     with_message_id)

CRLF = b"\r\n"


def make_certificate(directory: Path):
    """A self-signed RSA certificate for relay.test, valid one day. Returns (cert, key)."""
    cert, key = directory / "tls-cert.pem", directory / "tls-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=relay.test", "-addext", "subjectAltName=DNS:relay.test",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def client_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed test certificate
    return ctx


def s_client_resumes(host: str, port: int, session_file: Path, starttls: bool) -> bool:
    """Connects twice with `openssl s_client -tls1_2`, saving the session the first time
    (-sess_out) and offering it the second (-sess_in). True when the second handshake
    says "Reused" (a ticket or a cached session id was accepted). A server that issues
    neither gives s_client nothing to save: no file, nothing to resume."""
    base = ["openssl", "s_client", "-connect", f"{host}:{port}", "-tls1_2", "-ign_eof"]
    if starttls:
        base[2:2] = ["-starttls", "smtp"]
    first = subprocess.run(base + ["-sess_out", str(session_file)], input=b"QUIT\r\n",
                           capture_output=True, timeout=60)
    text = (first.stdout + first.stderr).decode(errors="replace")
    if "New, TLSv1.2" not in text:
        raise AssertionError(f"first TLS 1.2 handshake failed:\n{text}")
    if not session_file.exists():
        return False
    second = subprocess.run(base + ["-sess_in", str(session_file)], input=b"QUIT\r\n",
                            capture_output=True, timeout=60)
    text = (second.stdout + second.stderr).decode(errors="replace")
    if ", TLSv1.2, Cipher is" not in text:
        raise AssertionError(f"second TLS 1.2 handshake failed:\n{text}")
    return "Reused," in text


class TlsCase(E2ETestCase):
    tls_mode = "offered"
    extra = []

    def setUp(self):
        super().setUp()
        self.cert, self.key = make_certificate(self.dir)
        lines = [f'tls = "{self.tls_mode}"', f'tls_certificate = "{self.cert}"',
                 f'tls_key = "{self.key}"', *self.extra]
        self.cfg, self.relay, self.sink = self.relay_with_one_sink(
            inbound_extra=lines, inbound_policy_extra=getattr(self, "policy_extra", []))
        self.port = self.cfg.inbound_port

    def raw(self) -> RawSmtp:
        c = RawSmtp(INBOUND_HOST, self.port)
        self.addCleanup(c.close)
        return c

    def upgrade(self, c: RawSmtp) -> None:
        """Wraps the raw client's socket in TLS; nothing may be buffered from before."""
        self.assertEqual(c.buf, b"", "server sent bytes after its 220 to STARTTLS")
        c.sock = client_context().wrap_socket(c.sock, server_hostname="relay.test")


class StartTlsTest(TlsCase):
    def test_smtplib_starttls_delivers_and_marks_esmtps(self):
        mid, msg = build_message()
        with smtplib.SMTP(INBOUND_HOST, self.port, local_hostname="client.test", timeout=30) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("starttls"))
            self.assertTrue(s.has_extn("chunking"))
            self.assertFalse(s.has_extn("binarymime"))
            code, _ = s.starttls(context=client_context())
            self.assertEqual(code, 220)
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"), "STARTTLS advertised again under TLS")
            self.assertEqual(s.sendmail("alice@example.net", ["bob@example.com"], msg), {})
            self.assertIn(s.sock.version(), ("TLSv1.2", "TLSv1.3"))
        got = self.wait_for_message(self.sink, mid)
        header = self.assert_received_prepended(msg, got.raw)
        self.assertIn(b"with ESMTPS", unfold(header))

    def test_injected_plaintext_after_starttls_never_reaches_the_sink(self):
        """CVE-2011-0411: commands pipelined behind STARTTLS in the same packet."""
        injected_mid, injected = build_message(sender="evil@example.net", subject="injected")
        c = self.raw()
        self.assertEqual(c.reply().code, 220)
        self.assertEqual(c.command("EHLO client.test").code, 250)
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<bob@example.com>\r\n"
               b"DATA\r\n" + stuff(injected) + b".\r\n")
        r = c.reply()
        self.assertEqual((r.code, r.enhanced), (220, "2.0.0"))
        self.upgrade(c)
        # The session is back at "no EHLO yet": MAIL is refused until EHLO.
        self.assertEqual(c.command("MAIL FROM:<alice@example.net>").code, 503)
        ehlo = c.command("EHLO client.test")
        self.assertEqual(ehlo.code, 250)
        self.assertNotIn("STARTTLS", ehlo.text)
        self.assertEqual(c.command("STARTTLS").code, 503)
        mid, msg = build_message(subject="legit")
        self.assert_transaction_open(c)
        self.assert_data_accepted(c, msg)
        self.assertEqual(c.command("QUIT").code, 221)
        got = self.wait_for_message(self.sink, mid)
        self.assert_received_prepended(msg, got.raw)
        self.assertEqual(got.mail_from, "alice@example.net")
        settle(1.0)
        self.assertEqual(with_message_id(self.sink.messages(), injected_mid), [])
        self.assertEqual(len(self.sink.messages()), 1)
        self.assertIn("pipelined after STARTTLS discarded", self.relay.log_text())

    def test_failed_handshake_closes_the_connection(self):
        c = self.raw()
        c.reply()
        c.command("EHLO client.test")
        self.assertEqual(c.command("STARTTLS").code, 220)
        c.send(b"this is not a TLS ClientHello\r\n")
        self.assertEqual(c.replies_until_close(), [])  # closed, no reply in plaintext

    def test_openssl_s_client_starttls(self):
        out = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect",
                              f"{INBOUND_HOST}:{self.port}", "-brief", "-tls1_2", "-ign_eof"],
                             input=b"QUIT\r\n", capture_output=True, timeout=60)
        text = (out.stdout + out.stderr).decode(errors="replace")
        self.assertIn("Protocol version: TLSv1.2", text)
        self.assertIn("221 2.0.0", text)
        # TLS 1.1 and older are refused.
        old = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect",
                              f"{INBOUND_HOST}:{self.port}", "-brief", "-tls1_1",
                              "-cipher", "DEFAULT@SECLEVEL=0"],
                             input=b"QUIT\r\n", capture_output=True, timeout=60)
        self.assertNotIn(b"Protocol version: TLSv1.1", old.stdout + old.stderr)

    def test_tls12_session_is_not_resumed(self):
        # No TLS 1.2 ticket and no session cache: a second connection offering the first
        # one's session gets a full handshake (Schannel has trouble with large tickets).
        self.assertFalse(s_client_resumes(INBOUND_HOST, self.port, self.dir / "session.pem", starttls=True))

    @unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
    def test_swaks_tls(self):
        mid = "<swaks-tls@e2e.test>"
        out = subprocess.run(["swaks", "--server", f"{INBOUND_HOST}:{self.port}", "--tls",
                              "--from", "alice@example.net", "--to", "bob@example.com",
                              "--helo", "client.test", "--header", f"Message-ID: {mid}"],
                             capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        text = (out.stdout + out.stderr).decode(errors="replace")
        if "Net::SSLeay" in text or "not available" in text:
            self.skipTest("swaks lacks TLS support (libnet-ssleay-perl)")
        self.assertEqual(out.returncode, 0, text)
        self.assertIn("STARTTLS", text)
        # swaks writes its own Message-Id too; look for ours anywhere in the message.
        wait_for(lambda: [m for m in self.sink.messages() if mid.encode() in m.raw], 20,
                 "the swaks message at the sink")

    def test_bdat_session_pipelined(self):
        mid, msg = build_message(body=b".leading dot stays\r\nline two\r\n")
        c = self.raw()
        c.reply()
        c.command("EHLO client.test")
        self.assertEqual(c.command("STARTTLS").code, 220)
        self.upgrade(c)
        self.assertIn("CHUNKING", c.command("EHLO client.test").text)
        first, second = msg[:17], msg[17:]
        c.send(b"MAIL FROM:<alice@example.net>\r\nRCPT TO:<bob@example.com>\r\n"
               + b"BDAT %d\r\n" % len(first) + first
               + b"BDAT %d LAST\r\n" % len(second) + second)
        codes = [c.reply().code for _ in range(4)]
        self.assertEqual(codes, [250, 250, 250, 250])
        got = self.wait_for_message(self.sink, mid)
        self.assert_received_prepended(msg, got.raw)


class RequiredTlsTest(TlsCase):
    tls_mode = "required"

    def test_mail_refused_until_starttls(self):
        c = self.raw()
        c.reply()
        self.assertIn("STARTTLS", c.command("EHLO client.test").text)
        r = c.command("MAIL FROM:<alice@example.net>")
        self.assertEqual((r.code, r.enhanced), (530, "5.7.0"))
        self.assertEqual(c.command("STARTTLS").code, 220)
        self.upgrade(c)
        c.command("EHLO client.test")
        self.assertEqual(c.command("MAIL FROM:<alice@example.net>").code, 250)


class ImplicitTlsTest(TlsCase):
    tls_mode = "implicit"

    def test_smtps_delivers(self):
        mid, msg = build_message()
        with smtplib.SMTP_SSL(INBOUND_HOST, self.port, local_hostname="client.test",
                              context=client_context(), timeout=30) as s:
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"))
            self.assertEqual(s.docmd("STARTTLS")[0], 503)
            self.assertEqual(s.sendmail("alice@example.net", ["bob@example.com"], msg), {})
        got = self.wait_for_message(self.sink, mid)
        self.assertIn(b"with ESMTPS", unfold(self.assert_received_prepended(msg, got.raw)))

    def test_plaintext_client_is_dropped(self):
        c = self.raw()
        c.send(b"EHLO client.test\r\n")
        self.assertEqual(c.replies_until_close(), [])

    def test_tls12_session_is_not_resumed(self):
        self.assertFalse(s_client_resumes(INBOUND_HOST, self.port, self.dir / "session.pem", starttls=False))


class AuthTest(TlsCase):
    """AUTH PLAIN/LOGIN after STARTTLS; the secret comes from `hubrelay hash-password`."""
    extra = ["auth = true"]
    password = "correct horse battery staple"

    def setUp(self):
        out = subprocess.run([relay_binary(), "hash-password"], input=self.password + "\n",
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        secret = out.stdout.strip()
        self.assertTrue(secret.startswith("$pbkdf2-sha256$600000$"), secret)
        self.assertNotIn(self.password, out.stdout + out.stderr)
        self.policy_extra = [f'auth_users = {{ alice = "{secret}" }}']
        super().setUp()

    def test_smtplib_starttls_auth_then_relay_to_any_domain(self):
        mid, msg = build_message(to=("carol@elsewhere.test",))
        with smtplib.SMTP(INBOUND_HOST, self.port, local_hostname="client.test", timeout=30) as s:
            s.ehlo()
            self.assertFalse(s.has_extn("auth"), "AUTH offered before TLS")
            s.starttls(context=client_context())
            s.ehlo()
            self.assertIn("PLAIN", s.esmtp_features.get("auth", ""))
            # Without AUTH, a foreign domain is refused (closed relay) ...
            with self.assertRaises(smtplib.SMTPRecipientsRefused):
                s.sendmail("alice@example.net", ["carol@elsewhere.test"], msg)
            s.rset()
            # ... a wrong password gets 535 5.7.8 ...
            with self.assertRaises(smtplib.SMTPAuthenticationError) as wrong:
                s.login("alice", "wrong")
            self.assertEqual(wrong.exception.smtp_code, 535)
            self.assertIn(b"5.7.8", wrong.exception.smtp_error)
            # ... and after AUTH the client may relay anywhere.
            s.login("alice", self.password)
            self.assertEqual(s.sendmail("alice@example.net", ["carol@elsewhere.test"], msg), {})
        got = self.wait_for_message(self.sink, mid)
        self.assertIn(b"with ESMTPSA", unfold(self.assert_received_prepended(msg, got.raw)))
        log = self.relay.log_text()
        self.assertIn("authenticated user=alice", log)
        self.assertNotIn(self.password, log)
        self.assertNotIn("wrong", log.replace("wrong version", ""))

    def test_auth_login_continuation_and_cancel(self):
        c = self.raw()
        c.reply()
        c.command("EHLO client.test")
        self.assertEqual(c.command("AUTH LOGIN").code, 538)  # plaintext: needs TLS first
        c.command("STARTTLS")
        self.upgrade(c)
        c.command("EHLO client.test")
        self.assertEqual(c.command("AUTH LOGIN").lines, ["VXNlcm5hbWU6"])
        r = c.command("*")
        self.assertEqual((r.code, r.enhanced), (501, "5.0.0"))
        self.assertEqual(c.command("AUTH LOGIN").code, 334)
        self.assertEqual(c.command(base64.b64encode(b"alice").decode()).code, 334)
        r = c.command(base64.b64encode(self.password.encode()).decode())
        self.assertEqual((r.code, r.enhanced), (235, "2.7.0"))

    def tls_session(self) -> RawSmtp:
        c = self.raw()
        c.reply()
        c.command("EHLO client.test")
        c.command("STARTTLS")
        self.upgrade(c)
        c.command("EHLO client.test")
        return c

    def test_repeated_failures_lock_the_address_out(self):
        # max_errors (10) closes a session first, so the guesser reconnects, as real ones do.
        bad = "AUTH PLAIN " + base64.b64encode(b"\0alice\0nope").decode()
        seen = []
        for _ in range(4):
            c = self.tls_session()
            for _ in range(4):  # 3 free, then 1..5 s slower each, locked after 10
                seen.append(c.command(bad).code)
                if seen[-1] == 454:
                    break
            if seen[-1] == 454:
                break
            c.close()
        self.assertEqual(seen[:10], [535] * 10)
        self.assertEqual(seen[10:], [454])
        # Even the right password is refused while locked out.
        good = base64.b64encode(b"\0alice\0" + self.password.encode()).decode()
        self.assertEqual(c.command("AUTH PLAIN " + good).code, 454)
        self.assertIn("locked out", self.relay.log_text())

    @unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
    def test_swaks_tls_auth(self):
        mid = "<swaks-auth@e2e.test>"
        out = subprocess.run(["swaks", "--server", f"{INBOUND_HOST}:{self.port}", "--tls",
                              "--auth", "LOGIN", "--auth-user", "alice",
                              "--auth-password", self.password,
                              "--from", "alice@example.net", "--to", "dave@elsewhere.test",
                              "--helo", "client.test", "--header", f"Message-ID: {mid}"],
                             capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        text = (out.stdout + out.stderr).decode(errors="replace")
        self.assertEqual(out.returncode, 0, text)
        self.assertIn("235 2.7.0", text)
        wait_for(lambda: [m for m in self.sink.messages() if mid.encode() in m.raw], 20,
                 "the swaks message at the sink")


class BareLineEndingsTest(E2ETestCase):
    """bare_line_endings: "reject" refuses with 550 5.5.2; "normalize" turns them into CRLF."""

    def send_with_bare_lf(self, port: int):
        mid, msg = build_message(body=b"one\ntwo\r\n")
        c = RawSmtp(INBOUND_HOST, port)
        self.addCleanup(c.close)
        c.up_to_data()
        self.assertEqual(c.command("DATA").code, 354)
        c.send(msg + b".\r\n")
        return mid, c.reply()

    def test_reject(self):
        cfg, relay, sink = self.relay_with_one_sink(inbound_extra=['bare_line_endings = "reject"'])
        mid, r = self.send_with_bare_lf(cfg.inbound_port)
        self.assertEqual((r.code, r.enhanced), (550, "5.5.2"))
        settle(1.0)
        self.assertEqual(with_message_id(sink.messages(), mid), [])

    def test_normalize(self):
        cfg, relay, sink = self.relay_with_one_sink(inbound_extra=['bare_line_endings = "normalize"'])
        mid, r = self.send_with_bare_lf(cfg.inbound_port)
        self.assertEqual(r.code, 250)
        got = self.wait_for_message(self.sink_or(sink), mid)
        self.assertIn(b"one\r\ntwo\r\n", got.raw)

    @staticmethod
    def sink_or(sink):
        return sink


class ProxyProtocolTest(E2ETestCase):
    """PROXY v1/v2 from a configured balancer (127.0.0.1); policy and Received: see the
    proxied client; anyone else, or a missing/bad header, is dropped without a banner."""

    def setUp(self):
        super().setUp()
        self.cfg, self.relay, self.sink = self.relay_with_one_sink(
            inbound_extra=["proxy_protocol = true", 'proxy_from = ["127.0.0.1/32"]'])

    def connect(self, source="127.0.0.1") -> RawSmtp:
        c = RawSmtp(INBOUND_HOST, self.cfg.inbound_port, source=source)
        self.addCleanup(c.close)
        return c

    def deliver_after(self, c: RawSmtp, header: bytes) -> bytes:
        mid, msg = build_message()
        c.send(header)
        self.assertEqual(c.reply().code, 220)
        c.command("EHLO client.test")
        self.assert_transaction_open(c)
        self.assert_data_accepted(c, msg)
        c.command("QUIT")
        got = self.wait_for_message(self.sink, mid)
        return unfold(self.assert_received_prepended(msg, got.raw))

    def test_v2_raw_header_sets_the_client_address(self):
        block = bytes([203, 0, 113, 9, 127, 0, 0, 1]) + (40000).to_bytes(2, "big") + (25).to_bytes(2, "big")
        header = b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + len(block).to_bytes(2, "big") + block
        received = self.deliver_after(self.connect(), header)
        self.assertIn(b"[203.0.113.9]", received)
        self.assertIn("client=203.0.113.9 (PROXY v2)", self.relay.log_text())

    def test_v1_header(self):
        received = self.deliver_after(self.connect(), b"PROXY TCP4 198.51.100.77 127.0.0.1 40000 25\r\n")
        self.assertIn(b"[198.51.100.77]", received)

    def test_missing_header_or_unlisted_sender_is_dropped(self):
        c = self.connect()
        c.send(b"EHLO client.test\r\n")
        self.assertEqual(c.replies_until_close(), [])
        other = self.connect(source="127.0.0.3")
        other.send(b"PROXY TCP4 198.51.100.77 127.0.0.1 40000 25\r\n")
        self.assertEqual(other.replies_until_close(), [])
        self.assertIn("not in proxy_from", self.relay.log_text())


class EarlyTalkerTest(E2ETestCase):
    def test_client_talking_before_banner_gets_554(self):
        cfg, relay, sink = self.relay_with_one_sink(inbound_extra=['greeting_delay = "1s"'])
        c = RawSmtp(INBOUND_HOST, cfg.inbound_port)
        self.addCleanup(c.close)
        c.send(b"EHLO impatient.test\r\n")
        replies = c.replies_until_close()
        self.assertEqual([(r.code, r.enhanced) for r in replies], [(554, "5.5.0")])
        # A patient client gets the banner after the delay.
        p = RawSmtp(INBOUND_HOST, cfg.inbound_port)
        self.addCleanup(p.close)
        self.assertEqual(p.reply().code, 220)
        self.assertEqual(p.command("QUIT").code, 221)


if __name__ == "__main__":
    unittest.main(verbosity=2)

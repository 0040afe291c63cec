#!/usr/bin/python3
"""tests/e2e/test_filter_rigs.py — the filter rigs (filter_rigs.py) proven with a real MTA.

Owns: the proof that the rspamd, ClamAV and OpenDKIM rigs behave as the hubrelay milter
tests will expect, established with Postfix as the MTA (its milter client is the
reference implementation): a private Postfix instance (bench/postfix_instance.sh, with
SMTPD_MILTERS) on 127.0.0.1 relaying to a sink.py process, smtpd_milters pointing at the
rig. Checked:
  * rspamd: a message with the reject marker gets 5xx at the client (the rig's reject
    text) and never reaches the sink; a clean message arrives with the rig's header
    added, the sent header lines and body otherwise byte for byte.
  * ClamAV: an EICAR attachment is refused with 5xx naming the signature; a clean
    attachment arrives marked X-Virus-Status: Clean; with OnInfected Quarantine the
    EICAR message gets 250 but lands in Postfix's hold queue, not at the sink.
  * OpenDKIM: the DKIM-Signature (d= the rig's domain, s= its selector) arrives and
    verifies with python3-dkim and Mail::DKIM (dkim_verify.py); the same message with
    one body byte changed fails with both (so the verifiers really verify).
  * dkim_verify.py on its own (no daemon, no root): a signature made with python3-dkim
    verifies with both verifiers, and a changed From: fails with both.
Also prints each rig's start-up time (CI budget).
Skips a class when its package (binary) is missing, and everything without root or
Postfix (the private instance needs both).
Never: asserts timing; touches system daemons or /etc configuration.
"""

import base64
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import filter_rigs  # noqa: E402
from dkim_verify import verify_dkim  # noqa: E402
from filter_rigs import (ADDED_HEADER, EICAR, EICAR_SIGNATURE, REJECT_MARKER,  # noqa: E402
                         ClamavRig, OpenDkimRig, RspamdRig, missing_binaries)
from harness import (SOURCE_DIR, E2ETestCase, build_message, free_port,  # noqa: E402
                     wait_for, with_message_id)

POSTFIX_SCRIPT = SOURCE_DIR / "bench" / "postfix_instance.sh"
SENDER, RCPT = "alice@example.net", "bob@example.com"


def postfix_missing() -> str:
    if os.geteuid() != 0:
        return "the private Postfix instance needs root"
    if missing_binaries("postfix", "postconf"):
        return "Postfix is not installed (scripts/setup-debian.sh --test)"
    return ""


class PostfixWithMilters:
    """A private Postfix (bench/postfix_instance.sh) calling `milters`, relaying to a sink."""

    def __init__(self, directory: Path, sink_port: int, milters: str):
        self.dir, self.sink_port, self.milters = directory, sink_port, milters
        self.host, self.port = "127.0.0.1", free_port()

    def start(self) -> "PostfixWithMilters":
        env = dict(os.environ, SMTPD_MILTERS=self.milters)
        subprocess.run([str(POSTFIX_SCRIPT), "start", str(self.dir), self.host,
                        str(self.port), str(self.sink_port)], check=True, timeout=60, env=env)
        wait_for(lambda: _accepts(self.port), 30,
                 f"Postfix smtpd on {self.host}:{self.port}")
        return self

    def stop(self) -> None:
        subprocess.run([str(POSTFIX_SCRIPT), "stop", str(self.dir)], timeout=60)

    def held(self) -> list:
        hold = self.dir / "spool" / "hold"
        return sorted(p.name for p in hold.iterdir()) if hold.is_dir() else []

    def maillog(self) -> str:
        path = self.dir / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""


def _accepts(port: int) -> bool:
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def send(port: int, msg: bytes) -> tuple:
    """One transaction over smtplib; (code, text) of the reply to the final dot."""
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=60) as s:
        s.ehlo()
        s.mail(SENDER)
        s.rcpt(RCPT)
        code, text = s.data(msg)
        return code, text.decode(errors="replace")


def mime_with_attachment(subject: str, payload: bytes, filename: str) -> tuple:
    b64 = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    body = (b"This is a multi-part message in MIME format.\r\n\r\n"
            b"--rigboundary\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            b"See the attachment.\r\n\r\n"
            b"--rigboundary\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"" + filename.encode() + b"\"\r\n\r\n"
            + b64 + b"\r\n--rigboundary--\r\n")
    return build_message(sender=SENDER, to=[RCPT], subject=subject, body=body,
                         extra_headers=[b"MIME-Version: 1.0",
                                        b'Content-Type: multipart/mixed; boundary="rigboundary"'])


def split_message(raw: bytes) -> tuple:
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


class RigTestCase(E2ETestCase):
    """A sink, a rig and a private Postfix whose smtpd calls the rig."""

    binaries: tuple = ()

    @classmethod
    def setUpClass(cls):
        why = postfix_missing()
        if not why:
            gone = missing_binaries(*cls.binaries)
            if gone:
                why = f"{', '.join(gone)} not installed (scripts/setup-debian.sh --test)"
        if why:
            raise unittest.SkipTest(why)

    def start_chain(self, rig: filter_rigs.FilterRig):
        self.dir.chmod(0o755)  # Postfix's daemons (user postfix) and the rig's user
        sink = self.start_sink("hub")
        self.addCleanup(rig.stop)
        rig.start()
        for log in rig.logs:
            self._logs.append(log)
        print(f"\n[rigs] {rig.name} started in {rig.startup_seconds:.2f} s", file=sys.stderr)
        # A short directory of its own: Postfix's socket paths must fit in sun_path.
        pf_dir = Path(tempfile.mkdtemp(prefix="hr-pf-"))
        pf_dir.chmod(0o755)
        (self.dir / "postfix").symlink_to(pf_dir)
        self.addCleanup(shutil.rmtree, pf_dir, True)
        self.addCleanup(lambda: shutil.copy(pf_dir / "maillog", self.dir / "postfix.maillog")
                        if (pf_dir / "maillog").exists() else None)
        postfix = PostfixWithMilters(pf_dir, sink.port, rig.postfix_milter)
        self.addCleanup(postfix.stop)
        postfix.start()
        self._logs.append(pf_dir / "maillog")
        return sink, postfix

    def delivered(self, sink, mid: str):
        return self.wait_for_message(sink, mid, timeout=60)

    def assert_refused_then_clean_delivered(self, sink, postfix, refused_mid: str):
        """Sends a clean message after a refused one and, once it arrived, checks that
        the refused one never did (no sleep: the clean one went the same way later)."""
        mid, msg = build_message(sender=SENDER, to=[RCPT], subject="clean after refusal")
        code, _ = send(postfix.port, msg)
        self.assertEqual(code, 250)
        self.delivered(sink, mid)
        self.assertEqual(with_message_id(sink.messages(), refused_mid), [])


class RspamdRigTest(RigTestCase):
    binaries = ("rspamd", "rspamadm")

    def test_marker_rejected_at_the_client(self):
        sink, postfix = self.start_chain(RspamdRig(self.dir))
        mid, msg = build_message(sender=SENDER, to=[RCPT], subject=f"buy now {REJECT_MARKER}")
        code, text = send(postfix.port, msg)
        self.assertEqual(code // 100, 5, text)
        self.assertIn(RspamdRig.REJECT_TEXT, text)
        self.assert_refused_then_clean_delivered(sink, postfix, mid)

    def test_marker_in_body_rejected(self):
        sink, postfix = self.start_chain(RspamdRig(self.dir))
        _, msg = build_message(sender=SENDER, to=[RCPT], subject="innocent",
                               body=f"Hello.\r\n{REJECT_MARKER}\r\n".encode())
        code, text = send(postfix.port, msg)
        self.assertEqual(code // 100, 5, text)

    def test_header_added_and_message_otherwise_intact(self):
        sink, postfix = self.start_chain(RspamdRig(self.dir))
        body = b"Line one.\r\n.leading dot\r\n\r\nLast line.\r\n"
        mid, msg = build_message(sender=SENDER, to=[RCPT], subject="clean", body=body)
        code, _ = send(postfix.port, msg)
        self.assertEqual(code, 250)
        got = self.delivered(sink, mid)
        headers, got_body = split_message(got.raw)
        added = f"{ADDED_HEADER[0]}: {ADDED_HEADER[1]}".encode()
        self.assertEqual(headers.count(added), 1, f"{added!r} once in {headers!r}")
        sent_headers, _ = split_message(msg)
        rest = [h for h in headers if h in sent_headers]
        self.assertEqual(rest, sent_headers, "sent header lines arrive in order")
        self.assertEqual(got_body, body)


class ClamavRigTest(RigTestCase):
    binaries = ("clamd", "clamav-milter")

    def test_eicar_attachment_rejected(self):
        sink, postfix = self.start_chain(ClamavRig(self.dir))
        mid, msg = mime_with_attachment("invoice", EICAR, "eicar.com")
        code, text = send(postfix.port, msg)
        self.assertEqual(code // 100, 5, text)
        self.assertIn(EICAR_SIGNATURE, text)
        self.assert_refused_then_clean_delivered(sink, postfix, mid)

    def test_clean_attachment_delivered_and_marked(self):
        sink, postfix = self.start_chain(ClamavRig(self.dir))
        mid, msg = mime_with_attachment("report", b"quarterly figures\n" * 40, "report.txt")
        self.assertEqual(send(postfix.port, msg)[0], 250)
        headers, body = split_message(self.delivered(sink, mid).raw)
        self.assertIn(b"X-Virus-Status: Clean", headers)
        self.assertEqual(body, split_message(msg)[1])

    def test_eicar_quarantined_in_the_hold_queue(self):
        sink, postfix = self.start_chain(ClamavRig(self.dir, on_infected="Quarantine"))
        mid, msg = mime_with_attachment("invoice", EICAR, "eicar.com")
        self.assertEqual(send(postfix.port, msg)[0], 250)
        wait_for(postfix.held, 30, "the quarantined message in Postfix's hold queue")
        self.assert_refused_then_clean_delivered(sink, postfix, mid)
        self.assertEqual(len(postfix.held()), 1)


class OpenDkimRigTest(RigTestCase):
    binaries = ("opendkim", "opendkim-genkey")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if subprocess.run(["perl", "-MMail::DKIM::Verifier", "-e", "1"],
                          capture_output=True).returncode != 0:
            raise unittest.SkipTest("Mail::DKIM not installed (libmail-dkim-perl)")
        try:
            __import__("dkim")
        except ImportError:
            raise unittest.SkipTest("python3-dkim not installed")

    def test_signature_arrives_and_verifies_with_two_verifiers(self):
        rig = OpenDkimRig(self.dir, domain="example.net", selector="rig")
        sink, postfix = self.start_chain(rig)
        body = b"Signed body.\r\nSecond line.\r\n"
        mid, msg = build_message(sender=SENDER, to=[RCPT], subject="sign me", body=body)
        self.assertEqual(send(postfix.port, msg)[0], 250)
        raw = self.delivered(sink, mid).raw
        headers, _ = split_message(raw)
        sig = [h for h in headers if h.lower().startswith(b"dkim-signature:")]
        self.assertEqual(len(sig), 1, headers)
        self.assertIn(b"d=example.net", sig[0])
        self.assertIn(b"s=rig", sig[0])
        verdicts = verify_dkim(raw, "example.net", "rig", rig.public_txt)
        for v in verdicts.values():
            self.assertTrue(v.ok, f"{v.verifier}: {v.detail}")
        self.assertEqual(set(verdicts), {"python3-dkim", "Mail::DKIM"})
        tampered = raw.replace(b"Second line.", b"Second line!")
        for v in verify_dkim(tampered, "example.net", "rig", rig.public_txt).values():
            self.assertFalse(v.ok, f"{v.verifier} accepted a changed body: {v.detail}")


class DkimVerifyTest(unittest.TestCase):
    """verify_dkim against a signer other than OpenDKIM (python3-dkim with its own key)."""

    def setUp(self):
        try:
            self.dkim = __import__("dkim")
        except ImportError:
            self.skipTest("python3-dkim not installed")
        if subprocess.run(["perl", "-MMail::DKIM::Verifier", "-e", "1"],
                          capture_output=True).returncode != 0:
            self.skipTest("Mail::DKIM not installed (libmail-dkim-perl)")

    def test_both_verifiers_accept_a_good_signature_and_refuse_a_changed_one(self):
        key = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA",
                              "-pkeyopt", "rsa_keygen_bits:2048"], check=True,
                             capture_output=True, timeout=60).stdout
        der = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=key,
                             check=True, capture_output=True, timeout=60).stdout
        public = f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
        _, msg = build_message(sender=SENDER, to=[RCPT], subject="signed here",
                               body=b"Body.\r\n")
        sig = self.dkim.sign(msg, b"sel", b"example.org", key,
                             include_headers=[b"From", b"To", b"Subject", b"Message-ID"])
        signed = sig + msg
        for v in verify_dkim(signed, "example.org", "sel", public).values():
            self.assertTrue(v.ok, f"{v.verifier}: {v.detail}")
        # The bare p= value is accepted as the key too.
        bare = public.split("p=", 1)[1]
        for v in verify_dkim(signed, "example.org", "sel", bare).values():
            self.assertTrue(v.ok, f"{v.verifier} with the bare key: {v.detail}")
        forged = signed.replace(b"From: alice@", b"From: mallory@")
        for v in verify_dkim(forged, "example.org", "sel", public).values():
            self.assertFalse(v.ok, f"{v.verifier} accepted a changed From: {v.detail}")


if __name__ == "__main__":
    if shutil.which("postfix") is None and os.path.exists("/usr/sbin/postfix"):
        os.environ["PATH"] += ":/usr/sbin"
    unittest.main()

#!/usr/bin/python3
"""tests/e2e/test_dkim.py — DKIM keys and records through the command line.

Owns: `hubrelay dkim keygen` (mode 0600, never over an existing file, the TXT record split
into 255-octet strings), `hubrelay dkim check` against the test DNS server (match,
mismatch, revoked, missing; exit status), and the configuration errors for keys
(readable by others, RSA under 2048 bits, not a key) with file:line: key.
Signing through a running relay: outbound mail, inline and spooled, by DATA and BDAT,
dual-signed (RSA-2048 and Ed25519); every signature that reaches the sink is verified by
python3-dkim and by Mail::DKIM (with the Ed25519 addition of
tests/relay/dkim/verify_signatures.py, which Debian 12's Mail::DKIM lacks); the corners:
a foreign From: domain, a signature already present, a change after signing, inbound mail;
a message a content filter changed is signed as the filter left it; the tracking records
of a signed (spooled) message name its signatures (dkim) and its Message-ID.
Every process is bounded by a timeout.
"""

import json
import os
import re
import stat
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "relay" / "dkim"))

from dns_server import DnsServer  # noqa: E402
from harness import (INBOUND_HOST, OUTBOUND_HOST, E2ETestCase, Hop, RawSmtp, build_message,  # noqa: E402
                     fetch_metrics, free_port, relay_binary, run_cli, send_mail, wait_for)
from test_milter import MilterCase  # noqa: E402
from verify_signatures import run_dkimpy, run_perl  # noqa: E402


def record_of(keygen_stdout: str) -> str:
    """The TXT text of a keygen line: its quoted strings joined."""
    return "".join(re.findall(r'"([^"]*)"', keygen_stdout))


class DkimToolsTest(E2ETestCase):
    def keygen(self, name, selector, kind="rsa"):
        out = self.dir / f"{name}.pem"
        r = run_cli(["dkim", "keygen", "--domain", "example.com", "--selector", selector, "--type", kind,
                     "--out", str(out)])
        self.assertEqual(r.returncode, 0, r.stderr)
        return out, r.stdout.strip()

    def config_with(self, keys, dns_port=None):
        sections = "".join(f'[dkim.{name}]\ndomain = "example.com"\nselector = "{selector}"\nkey_file = "{path}"\n\n'
                           for name, selector, path in keys)
        if dns_port:
            sections += f'[dns]\nservers = ["127.0.0.1:{dns_port}"]\ntimeout = "2s"\n'
        _cfg, path = self.make_config([Hop("hub", 2)], [Hop("smarthost", 2)], extra_sections=sections)
        return path

    def test_keygen_writes_a_private_key_and_prints_the_record(self):
        for kind in ("rsa", "ed25519"):
            out, line = self.keygen(kind, "s1", kind)
            self.assertEqual(stat.S_IMODE(out.stat().st_mode), 0o600)
            self.assertIn("PRIVATE KEY", out.read_text())
            self.assertTrue(line.startswith("s1._domainkey.example.com. IN TXT \""), line)
            self.assertTrue(all(len(s) <= 255 for s in re.findall(r'"([^"]*)"', line)), line)
            self.assertTrue(record_of(line).startswith(f"v=DKIM1; k={kind}; p="), line)
            again = run_cli(["dkim", "keygen", "--domain", "example.com", "--selector", "s1", "--out", str(out)])
            self.assertEqual(again.returncode, 1)
            self.assertIn("never overwritten", again.stderr)
        usage = run_cli(["dkim", "keygen", "--domain", "example.com", "--out", str(self.dir / "x.pem")])
        self.assertEqual(usage.returncode, 2)
        self.assertIn("--selector", usage.stderr)

    def test_check_compares_each_selector_with_its_key(self):
        rsa, rsa_line = self.keygen("rsa", "s2026r")
        ed, ed_line = self.keygen("ed", "s2026e", "ed25519")
        other, other_line = self.keygen("other", "x", "ed25519")
        old, _ = self.keygen("old", "s2025r")
        dns = DnsServer({
            "s2026r._domainkey.example.com": {"TXT": [record_of(rsa_line)]},
            "s2026e._domainkey.example.com": {"TXT": [record_of(other_line)]},  # a different key
            "s2025r._domainkey.example.com": {"TXT": ["v=DKIM1; k=rsa; p="]},  # revoked
        }, ttl=60).start()
        self.addCleanup(dns.stop)
        path = self.config_with([("r", "s2026r", rsa), ("e", "s2026e", ed), ("old", "s2025r", old),
                                 ("gone", "nothere", other)], dns.port)
        r = run_cli(["dkim", "check", "--config", str(path)])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("[dkim.r] s2026r._domainkey.example.com (rsa): match", r.stdout)
        self.assertIn("[dkim.e] s2026e._domainkey.example.com (ed25519): mismatch", r.stdout)
        self.assertIn("[dkim.old] s2025r._domainkey.example.com (rsa): revoked", r.stdout)
        self.assertIn("[dkim.gone] nothere._domainkey.example.com (ed25519): missing", r.stdout)
        self.assertIn("publish: " + ed_line, r.stdout)  # what to put in DNS instead

        dns.zone["s2026e._domainkey.example.com"] = {"TXT": [record_of(ed_line)]}
        path = self.config_with([("r", "s2026r", rsa), ("e", "s2026e", ed)], dns.port)
        ok = run_cli(["dkim", "check", "--config", str(path)])
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        self.assertEqual(ok.stdout.count(": match"), 2, ok.stdout)

    def test_bad_keys_are_configuration_errors(self):
        good, _ = self.keygen("good", "s1")
        os.chmod(good, 0o640)
        path = self.config_with([("k", "s1", good)])
        r = run_cli(["check-config", "--config", str(path)])
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r":\d+: dkim\.k\.key_file: the private key '.*good\.pem' is readable by other users")

        weak = self.dir / "weak.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024",
                        "-out", str(weak)], check=True, capture_output=True, timeout=60)
        os.chmod(weak, 0o600)
        junk = self.dir / "junk.pem"
        junk.write_text("not a key\n")
        os.chmod(junk, 0o600)
        path = self.config_with([("weak", "s1", weak), ("junk", "s2", junk)])
        r = run_cli(["check-config", "--config", str(path)])
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r":\d+: dkim\.weak\.key_file: .*weak\.pem: RSA key of 1024 bits")
        self.assertRegex(r.stderr, r":\d+: dkim\.junk\.key_file: .*junk\.pem: not a PEM private key")


def body_of(size: int) -> bytes:
    """CRLF lines of about `size` octets, with runs of blanks and a dot-led line or two."""
    lines, total, i = [], 0, 0
    while total < size:
        row = (b"." if i % 9 == 0 else b"") + b"line %06d  \t with  blanks " % i + b"y" * 40
        lines.append(row)
        total += len(row) + 2
        i += 1
    return b"\r\n".join(lines) + b"\r\n"


def signatures_of(raw: bytes):
    """The (d, s, a) of each DKIM-Signature field in the header section of `raw`."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
    fields = re.split(r"\r\n(?![ \t])", head)
    found = []
    for f in fields:
        if f.lower().startswith("dkim-signature:"):
            tags = dict(t.strip().split("=", 1) for t in re.sub(r"\s+", "", f.split(":", 1)[1]).split(";") if "=" in t)
            found.append((tags.get("d"), tags.get("s"), tags.get("a")))
    return found


class DkimRelayCase(E2ETestCase):
    """A relay with an RSA-2048 and an Ed25519 key for example.com on outbound listeners."""

    def start(self, hop_port, outbound_extra=()):
        self.records = {}
        keys = []
        for name, selector, kind in (("rsa", "s2026r", "rsa"), ("ed", "s2026e", "ed25519")):
            out = self.dir / f"{name}.pem"
            r = run_cli(["dkim", "keygen", "--domain", "example.com", "--selector", selector, "--type", kind,
                         "--out", str(out)])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.records[f"{selector}._domainkey.example.com"] = record_of(r.stdout)
            keys.append((name, selector, out))
        sections = "".join(f'[dkim.{name}]\ndomain = "example.com"\nselector = "{selector}"\nkey_file = "{path}"\n\n'
                           for name, selector, path in keys)
        admin = free_port("127.0.0.1")
        self.cfg, path = self.make_config([Hop("hub", hop_port)], [Hop("smarthost", hop_port)],
                                          extra_sections=sections, outbound_extra=list(outbound_extra),
                                          extra_toml=f'[admin]\nlisten = "127.0.0.1:{admin}"\n')
        self.admin_port = admin
        self.config_path = path
        self.relay = self.start_relay(self.cfg, path)

    def send_outbound(self, msg, bdat=False, sender="alice@example.com"):
        if not bdat:
            reply = send_mail(OUTBOUND_HOST, self.cfg.outbound_port, sender, ["bob@example.net"], msg)
            self.assertIn("queued as", reply)
            return
        with RawSmtp(OUTBOUND_HOST, self.cfg.outbound_port) as c:
            self.assertEqual(c.reply().code, 220)
            self.assertEqual(c.command("EHLO client.test").code, 250)
            self.assert_transaction_open(c, sender=sender, rcpts=("bob@example.net",))
            half = len(msg) // 2
            c.send(b"BDAT %d\r\n" % half + msg[:half])
            self.assertEqual(c.reply().code, 250)
            c.send(b"BDAT %d LAST\r\n" % (len(msg) - half) + msg[half:])
            self.assertEqual(c.reply().code, 250)

    def verdicts(self, raw):
        return run_dkimpy(raw, self.records), run_perl(raw, self.records)


class DkimSigningTest(DkimRelayCase):
    """Outbound mail through a running relay, signed and checked by two verifiers."""

    def setUp(self):
        super().setUp()
        self.sink = self.start_sink("hub")
        self.start(self.sink.port)

    def test_outbound_mail_is_dual_signed_and_verifies_with_both(self):
        cases = []
        for size, bdat in ((200, False), (200, True), (300 * 1024, False), (300 * 1024, True)):
            mid, msg = build_message(sender="Alice <alice@example.com>", to=("bob@example.net",),
                                     subject=f"signed {size} {'BDAT' if bdat else 'DATA'}", body=body_of(size))
            self.send_outbound(msg, bdat)
            cases.append((mid, size, bdat))
        for mid, size, bdat in cases:
            raw = self.wait_for_message(self.sink, mid, 60).raw
            what = f"{size} octets by {'BDAT' if bdat else 'DATA'}"
            self.assertEqual(sorted(signatures_of(raw)), [("example.com", "s2026e", "ed25519-sha256"),
                                                          ("example.com", "s2026r", "rsa-sha256")], what)
            python, perl = self.verdicts(raw)
            self.assertEqual(python, ["pass", "pass"], what)
            self.assertEqual(perl, ["pass", "pass"], what)
            # Changed after signing: both verifiers refuse both signatures.
            changed = raw.replace(b"line 000001", b"line 000002", 1)
            python, perl = self.verdicts(changed)
            self.assertNotIn("pass", python, what)
            self.assertNotIn("pass", perl, what)
        log = self.relay.log_text()
        self.assertIn("dkim=example.com/s2026r/rsa-sha256,example.com/s2026e/ed25519-sha256 queued", log)
        metrics = fetch_metrics(self.admin_port)
        self.assertEqual(metrics.get('hubrelay_dkim_signatures_total{domain="example.com",selector="s2026r",'
                                     'algorithm="rsa-sha256"}'), 4)

    def test_route_explain_says_who_signs(self):
        r = run_cli(["route", "explain", "bob@example.net", "--from", "alice@example.com",
                     "--config", str(self.config_path)])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("dkim: a From: in example.com on outbound listeners is signed by "
                      "[dkim.rsa] (d=example.com, s=s2026r), [dkim.ed] (d=example.com, s=s2026e)", r.stdout)
        r = run_cli(["route", "explain", "bob@example.net", "--from", "carol@example.org",
                     "--config", str(self.config_path)])
        self.assertIn("dkim: not signed: no key for the From: domain example.org", r.stdout)

    def test_what_is_not_signed(self):
        # A From: domain no key aligns with.
        foreign, msg = build_message(sender="carol@example.org", to=("bob@example.net",), subject="foreign")
        self.send_outbound(msg, sender="carol@example.org")
        # Inbound mail, From: example.com or not: inbound listeners are not signed.
        inbound, msg = build_message(sender="alice@example.com", to=("bob@example.com",), subject="inbound")
        self.assertIn("queued as", send_mail(INBOUND_HOST, self.cfg.inbound_port, "alice@example.net",
                                             ["bob@example.com"], msg))
        for mid in (foreign, inbound):
            self.assertEqual(signatures_of(self.wait_for_message(self.sink, mid, 60).raw), [], mid)
        # A message that already carries a signature with one key's d= and s=: only the
        # other key signs, the present one is not doubled.
        mid, msg = build_message(sender="alice@example.com", to=("bob@example.net",), subject="first pass")
        self.send_outbound(msg)
        once = self.wait_for_message(self.sink, mid, 60).raw
        head, body = once.split(b"\r\n\r\n", 1)
        fields = re.split(rb"\r\n(?![ \t])", head)
        kept = [f for f in fields if not (f.lower().startswith(b"dkim-signature:") and b"s2026e" in f)
                and not f.lower().startswith(b"received:")]
        again_mid = "<again-%s" % mid[1:]
        relayed = b"\r\n".join(f.replace(mid.encode(), again_mid.encode()) if f.lower().startswith(b"message-id:")
                                else f for f in kept) + b"\r\n\r\n" + body
        self.send_outbound(relayed)
        twice = self.wait_for_message(self.sink, again_mid, 60).raw
        self.assertEqual(sorted(signatures_of(twice)), [("example.com", "s2026e", "ed25519-sha256"),
                                                        ("example.com", "s2026r", "rsa-sha256")])


class DkimFailureTest(DkimRelayCase):
    """Signing fails at run time: the message is still accepted and delivered, unsigned,
    with an error line naming each key it cost and the failure counted per key."""

    def setUp(self):
        super().setUp()
        self.sink = self.start_sink("hub")
        # The listener takes header sections larger than the 1 MiB the signer holds.
        self.start(self.sink.port, outbound_extra=['max_header_size = "4MiB"'])

    def test_a_header_section_over_the_signing_cap_is_delivered_unsigned_and_counted(self):
        mid = "<huge-header@example.com>"
        pad = b"".join(b"X-Pad-%04d: %s\r\n" % (i, b"p" * 900) for i in range(1200))  # ~1.1 MiB
        msg = (b"From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: huge header\r\n"
               b"Message-ID: " + mid.encode() + b"\r\n" + pad + b"\r\nThe body.\r\n")
        self.send_outbound(msg)
        delivered = self.wait_for_message(self.sink, mid, 120).raw
        self.assertEqual(signatures_of(delivered), [])
        self.assertTrue(delivered.endswith(b"\r\nThe body.\r\n"))
        metrics = fetch_metrics(self.admin_port)
        for selector in ("s2026r", "s2026e"):
            self.assertEqual(metrics.get(f'hubrelay_dkim_failures_total{{domain="example.com",selector="{selector}",'
                                         'reason="header_too_large"}'), 1.0, metrics)
        log = self.relay.log_text()
        for name, selector in (("rsa", "s2026r"), ("ed", "s2026e")):
            self.assertRegex(log, rf"\berror session=\S+ dkim: not signed d=example\.com s={selector}: "
                                  rf"\[dkim\.{name}\]: header section over 1 MiB")


class DkimQueuedTest(DkimRelayCase):
    """A spooled signed message waiting in the queue: its signature is shown with it."""

    def setUp(self):
        super().setUp()
        self.start(free_port("127.0.0.1"))  # nothing listens: the message waits

    def test_queue_show_eml_includes_the_signature_of_a_spooled_message(self):
        mid, msg = build_message(sender="alice@example.com", to=("bob@example.net",), subject="waiting",
                                 body=body_of(300 * 1024))
        reply = send_mail(OUTBOUND_HOST, self.cfg.outbound_port, "alice@example.com", ["bob@example.net"], msg)
        qid = reply.rsplit(" ", 1)[-1]
        shown = subprocess.run([relay_binary(), "queue", "show", qid, "--eml", "--config", str(self.config_path)],
                               capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertTrue(shown.stdout.startswith(b"DKIM-Signature: "), shown.stdout[:200])
        self.assertEqual(len(signatures_of(shown.stdout)), 2)
        python, perl = self.verdicts(shown.stdout)
        self.assertEqual((python, perl), (["pass", "pass"], ["pass", "pass"]))

    def test_queue_list_and_show_give_the_size_delivered_signatures_included(self):
        _, msg = build_message(sender="alice@example.com", to=("bob@example.net",), subject="size",
                               body=body_of(300 * 1024))
        reply = send_mail(OUTBOUND_HOST, self.cfg.outbound_port, "alice@example.com", ["bob@example.net"], msg)
        qid = reply.rsplit(" ", 1)[-1]

        def queue(*args):
            r = subprocess.run([relay_binary(), "queue", *args, "--config", str(self.config_path)],
                               capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout

        delivered = len(queue("show", qid, "--eml"))  # what delivery sends: fields, then the file
        self.assertGreater(delivered, len(msg))
        self.assertIn(f"size:        {delivered} bytes".encode(), queue("show", qid))
        listed = [json.loads(line) for line in queue("list", "--state", "all", "--json").splitlines()]  # one per line
        self.assertEqual([m["size"] for m in listed if m["id"] == qid], [delivered], listed)


    def test_tracking_names_the_signatures_of_a_spooled_message(self):
        mid, msg = build_message(sender="alice@example.com", to=("bob@example.net",), subject="tracked",
                                 body=body_of(300 * 1024))
        reply = send_mail(OUTBOUND_HOST, self.cfg.outbound_port, "alice@example.com", ["bob@example.net"], msg)
        qid = reply.rsplit(" ", 1)[-1]
        def story():  # the writer thread writes within milliseconds of the 250
            found = subprocess.run([relay_binary(), "track", "--queue-id", qid, "--json", "--config",
                                    str(self.config_path)], capture_output=True, text=True, timeout=60,
                                   stdin=subprocess.DEVNULL)
            events = {r["event"]: r for r in map(json.loads, found.stdout.splitlines())}
            return events if {"receive", "queue"} <= set(events) else None
        story = wait_for(story, 30, "the receive and queue records")
        for event in ("receive", "queue"):
            self.assertEqual(story[event].get("dkim"), "example.com/s2026r/rsa-sha256,example.com/s2026e/ed25519-sha256",
                             story[event])
            self.assertEqual(story[event].get("message_id"), mid.strip("<>"), story[event])


class DkimAfterFilterTest(MilterCase):
    """A content filter changes the message: the signature covers the changed one."""

    def keys_section(self):
        self.records = {}
        out = self.dir / "rsa.pem"
        r = run_cli(["dkim", "keygen", "--domain", "example.com", "--selector", "sf", "--out", str(out)])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.records["sf._domainkey.example.com"] = record_of(r.stdout)
        # The filters run on the inbound listener: sign its mail for this test.
        return f'\n[dkim.f]\ndomain = "example.com"\nselector = "sf"\nkey_file = "{out}"\ndirections = ["inbound"]\n'

    def relay_log(self):
        return self.relay.log_text()

    def check(self, mods, body_sizes, expect, body_hashed_again):
        """Each message is signed as the filter left it; the body is hashed again (read
        again from its spool file) only when the filter replaced it."""
        port = self.start_milter({"stages": {"eom": {"mods": mods}}})
        cfg, relay, sink = self.relay_with_milter(port, extra=self.keys_section())
        self.relay = relay
        for size in body_sizes:
            mid, msg = build_message(sender="alice@example.com", subject="filtered", body=body_of(size))
            self.assertEqual(self.transaction(cfg, msg).code, 250)
            raw = self.delivered(sink, mid).raw
            self.assertIn(expect, raw)
            self.assertEqual(signatures_of(raw), [("example.com", "sf", "rsa-sha256")], size)
            self.assertEqual(run_dkimpy(raw, self.records), ["pass"], size)
            self.assertEqual(run_perl(raw, self.records), ["pass"], size)
        self.assertEqual("dkim: body hashed again" in relay.log_text(), body_hashed_again)

    def test_headers_changed_by_a_filter_are_signed(self):
        self.check([{"op": "addheader", "name": "X-Scanned", "value": "yes"},
                    {"op": "chgheader", "name": "Subject", "idx": 1, "value": "[SPAM] changed"}],
                   (300, 300 * 1024), b"Subject: [SPAM] changed", body_hashed_again=False)
        self.assertIn("dkim: header section read again", self.relay_log())

    def test_body_replaced_by_a_filter_is_signed(self):
        self.check([{"op": "replbody", "body": "replaced\r\nbody\r\n"}], (300, 300 * 1024),
                   b"\r\n\r\nreplaced\r\nbody\r\n", body_hashed_again=True)

    def test_message_a_filter_left_alone_is_not_read_again(self):
        self.check([], (300, 300 * 1024), b"Subject: filtered", body_hashed_again=False)
        self.assertNotIn("dkim: header section read again", self.relay_log())


if __name__ == "__main__":
    unittest.main()

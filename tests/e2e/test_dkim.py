#!/usr/bin/python3
"""tests/e2e/test_dkim.py — DKIM keys and records through the command line.

Owns: `hubrelay dkim keygen` (mode 0600, never over an existing file, the TXT record split
into 255-octet strings), `hubrelay dkim check` against the test DNS server (match,
mismatch, revoked, missing; exit status), and the configuration errors for keys
(readable by others, RSA under 2048 bits, not a key) with file:line: key.
Signing itself is verified by python3-dkim and Mail::DKIM in the ctest
dkim_independent_verifiers (tests/relay/dkim/verify_signatures.py).
Never: starts the daemon; every process is bounded by a timeout.
"""

import os
import re
import stat
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dns_server import DnsServer  # noqa: E402
from harness import E2ETestCase, Hop, run_cli  # noqa: E402


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


if __name__ == "__main__":
    unittest.main()

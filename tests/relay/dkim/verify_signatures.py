#!/usr/bin/python3
"""Signs a corpus of awkward messages with relay/dkim (dkim_sign_tool) under every
canonicalization and both algorithms, and verifies EVERY signature with two independent
verifiers: python3-dkim (dkimpy) and Mail::DKIM (perl, SpamAssassin's). The public keys are
handed to both through a fake DNS lookup. A message changed after signing must fail both.

usage: verify_signatures.py PATH/TO/dkim_sign_tool
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import dkim

TOOL = None
DOMAIN = "example.com"

PERL_VERIFIER = r'''
use strict; use warnings;
use Mail::DKIM::Verifier; use Net::DNS; use MIME::Base64; use Crypt::PK::Ed25519;
my %records = %{ JSON::PP::decode_json($ARGV[0]) };
no warnings qw(redefine once);
*Mail::DKIM::DNS::query = sub {
    my ($name, $type) = @_;
    my $record = $records{lc $name} or do { $@ = 'NXDOMAIN'; return (); };
    my @strings = unpack('(A255)*', $record);
    return (Net::DNS::RR->new(owner => $name, type => 'TXT', txtdata => [@strings]));
};

# Debian 12's Mail::DKIM (1.20230212) predates its Ed25519 support (RFC 8463). This adds
# the algorithm the way later releases do: Mail::DKIM still parses, selects and
# canonicalizes and hashes; CryptX (libcryptx-perl) checks the Ed25519 signature of the
# SHA-256 header hash, and Mail::DKIM checks the body hash.
{
    package Mail::DKIM::Algorithm::ed25519_sha256;
    use base 'Mail::DKIM::Algorithm::rsa_sha256';
    sub verify {
        my $self = shift;
        my $p = $self->signature->get_public_key->get_tag('p');
        my $key = Crypt::PK::Ed25519->new;
        $key->import_key_raw(MIME::Base64::decode_base64($p), 'public');
        my $signature = MIME::Base64::decode_base64($self->signature->data);
        return unless $key->verify_message($signature, $self->{header_digest}->digest);
        return $self->check_body_hash;
    }
}
my $algorithm_class = \&Mail::DKIM::Signature::get_algorithm_class;
*Mail::DKIM::Signature::get_algorithm_class = sub {
    return $_[1] eq 'ed25519-sha256' ? 'Mail::DKIM::Algorithm::ed25519_sha256' : $algorithm_class->(@_);
};
my $hash_algorithm = \&Mail::DKIM::Signature::hash_algorithm;
*Mail::DKIM::Signature::hash_algorithm = sub {
    return $_[0]->algorithm eq 'ed25519-sha256' ? 'sha256' : $hash_algorithm->(@_);
};
my $key_check = \&Mail::DKIM::PublicKey::check;
*Mail::DKIM::PublicKey::check = sub {
    my $self = shift;
    return $key_check->($self, @_) unless ($self->get_tag('k') // '') eq 'ed25519';
    die "missing p= tag\n" unless $self->get_tag('p');
    return 1;
};
# The verifier asks the key's size (RSA only has one worth checking).
my $cork = \&Mail::DKIM::Key::cork;
*Mail::DKIM::PublicKey::cork = sub {
    my $self = shift;
    return $cork->($self, @_) if @_ || ($self->get_tag('k') // '') ne 'ed25519';
    return bless {}, 'Ed25519KeySize';
};
sub Ed25519KeySize::size { return 32 }

local $/;
my $message = <STDIN>;
my $verifier = Mail::DKIM::Verifier->new();
$verifier->PRINT($message);
$verifier->CLOSE();
print join(' ', map { $_->result() } $verifier->signatures()), "\n";
'''

# The corpus: item 3 of the signing requirements. Every message is CR LF; the session
# normalises bare line ends on receipt before anything is hashed.
FROM = "From: Sender <sender@example.com>\r\n"
CORPUS = {
    "plain": FROM + "To: a@b.example\r\nSubject: hello\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
             "Message-ID: <1@example.com>\r\n\r\nHello.\r\n",
    "empty_body": FROM + "To: a@b.example\r\nSubject: nothing\r\n\r\n",
    "no_body_at_all": FROM + "Subject: headers only\r\n\r\n",
    "trailing_empty_lines": FROM + "Subject: t\r\n\r\nline\r\n\r\n\r\n\r\n",
    "only_empty_lines": FROM + "Subject: t\r\n\r\n\r\n\r\n \t \r\n",
    "whitespace_runs": FROM + "Subject:   spaced \t  out   \r\n\r\n\t lead\r\na  \t b\t\r\n   \r\nend   \r\n",
    "folded_and_duplicate": FROM + "To: a@b.example,\r\n\tc@d.example\r\nTo: e@f.example\r\n"
                            "Subject: a long subject\r\n  folded twice\r\n\tand again\r\n"
                            "Received: from x\r\n by y; Fri, 04 Dec 2026 10:00:00 +0000\r\n"
                            "X-Dup: 1\r\nX-Dup: 2\r\n\r\nbody\r\n",
    "eight_bit_headers": "From: J\xc3\xb6rg M\xc3\xbcller <j\xc3\xb6rg@example.com>\r\n"
                         "To: \xe5\xa4\xaa\xe9\x83\x8e <t@b.example>\r\n"
                         "Subject: Gr\xc3\xbc\xc3\x9f""e \xe2\x80\x94 caf\xc3\xa9\r\n\r\n"
                         "\xc3\xa4\xc3\xb6\xc3\xbc  \xe2\x82\xac\r\n",
    "near_998": FROM + "Subject: long\r\nX-Long: " + "h" * 980 + "\r\n\r\n" + "x" * 997 + "\r\n"
                + ("y" * 495 + "  " + "z" * 495) + "   \r\n" + "w" * 998 + "\r\n",
    "no_final_line_end": FROM + "Subject: cut\r\n\r\nno newline at the end",
    "mime": FROM + "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n"
            "Subject: mime\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b1--\r\n",
}


def run_perl(message, records):
    out = subprocess.run(["perl", "-MJSON::PP", "-e", PERL_VERIFIER, json.dumps(records)],
                         input=message, capture_output=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("perl verifier: " + out.stderr.decode(errors="replace"))
    return out.stdout.decode().split()


def run_dkimpy(message, records):
    def dnsfunc(name, timeout=5):
        return records.get(name.decode().rstrip(".").lower())
    d = dkim.DKIM(message)
    count = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
    results = []
    for i in range(count):
        try:
            results.append("pass" if d.verify(idx=i, dnsfunc=dnsfunc) else "fail")
        except dkim.ValidationError:  # a body hash mismatch is raised, not returned
            results.append("fail")
    return results


class Verifiers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.keys = {}
        cls.records = {}
        for algorithm in ("rsa", "ed25519"):
            path = os.path.join(cls.dir.name, algorithm + ".pem")
            p = subprocess.run([TOOL, "keygen", algorithm, path], capture_output=True, check=True, text=True)
            selector = "s" + algorithm
            cls.keys[algorithm] = path
            cls.records[f"{selector}._domainkey.{DOMAIN}"] = f"v=DKIM1; k={algorithm}; p={p.stdout.strip()}"

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def sign(self, message, canonicalization, chunk=7):
        specs = [f"{self.keys[a]}:{DOMAIN}:s{a}:{canonicalization}:from,to,subject,cc" for a in ("rsa", "ed25519")]
        p = subprocess.run([TOOL, "sign", "--chunk", str(chunk)] + specs, input=message, capture_output=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_every_signature_verifies_with_both(self):
        for name, text in CORPUS.items():
            for c in ("simple/simple", "relaxed/relaxed", "relaxed/simple", "simple/relaxed"):
                for chunk in (1, 7, 4096):
                    with self.subTest(message=name, canonicalization=c, chunk=chunk):
                        signed = self.sign(text.encode("latin-1"), c, chunk)
                        self.assertEqual(signed.count(b"DKIM-Signature:"), 2)
                        self.assertEqual(run_dkimpy(signed, self.records), ["pass", "pass"])
                        if name == "no_final_line_end" and c.endswith("/simple"):
                            # Mail::DKIM 1.20230212 hashes an unterminated last line without
                            # the CR LF RFC 6376 §3.4.3 adds; dkimpy adds it, as we do. The
                            # relay delivers such a body with DATA, which ends it in CR LF.
                            continue
                        self.assertEqual(run_perl(signed, self.records), ["pass", "pass"])

    def test_changed_after_signing_fails_both(self):
        for c in ("simple/simple", "relaxed/relaxed"):
            signed = self.sign(CORPUS["plain"].encode(), c)
            for changed in (signed.replace(b"Hello.", b"Hullo."), signed.replace(b"Subject: hello", b"Subject: hellO"),
                            signed.replace(b"\r\n\r\nHello.", b"\r\nTo: added@x.example\r\n\r\nHello.")):
                with self.subTest(canonicalization=c, changed=changed[-60:]):
                    self.assertEqual(run_dkimpy(changed, self.records), ["fail", "fail"])
                    self.assertEqual(run_perl(changed, self.records), ["fail", "fail"])

    def test_perl_ed25519_shim_accepts_rfc8463_vector(self):
        # The Ed25519 addition to Mail::DKIM above, checked against RFC 8463 Appendix A.
        signed = ("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
                  " d=football.example.com; i=@football.example.com;\r\n"
                  " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
                  " subject : date : message-id : from : subject : date;\r\n"
                  " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
                  " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
                  " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
                  "From: Joe SixPack <joe@football.example.com>\r\n"
                  "To: Suzie Q <suzie@shopping.example.net>\r\n"
                  "Subject: Is dinner ready?\r\n"
                  "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
                  "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n\r\n"
                  "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n").encode()
        records = {"brisbane._domainkey.football.example.com":
                   "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}
        self.assertEqual(run_perl(signed, records), ["pass"])
        self.assertEqual(run_perl(signed.replace(b"Joe.", b"Jon."), records), ["fail"])

    def test_other_domain_is_not_signed(self):
        text = CORPUS["plain"].replace("sender@example.com", "sender@other.example").encode()
        self.assertEqual(self.sign(text, "relaxed/relaxed"), text)


if __name__ == "__main__":
    TOOL = sys.argv.pop(1)
    unittest.main()

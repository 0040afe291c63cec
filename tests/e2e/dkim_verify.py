#!/usr/bin/python3
"""tests/e2e/dkim_verify.py — two independent DKIM verifiers for a message's signatures.

Owns: verify_dkim(message, domain, selector, pubkey), which checks the DKIM-Signature of
a message as it arrived (at a sink) with python3-dkim (`import dkim`) and with Perl's
Mail::DKIM::Verifier (libmail-dkim-perl), both with the public key supplied in-process
instead of a DNS lookup, and returns both verdicts. Two implementations, so a signature
both accept is not an artefact of one library's reading of RFC 6376.
`pubkey` is the selector's TXT record ("v=DKIM1; k=rsa; p=MIIB...", as opendkim-genkey
writes it), or just the base64 of the key (the p= value).
Never: queries DNS (python: dnsfunc; Perl: a resolver object answering only that name).
Standards: RFC 6376 (DKIM signatures, the TXT key record).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Dict

PERL_VERIFIER = r"""
use strict; use warnings;
use Mail::DKIM::Verifier; use Mail::DKIM::DNS; use Net::DNS;
# A resolver that answers the selector's TXT name (and nothing else) from the environment.
package LocalKey;
sub new { return bless {}, shift }
sub errorstring { return 'NXDOMAIN' }
sub send {
    my ($self, $name, $type) = @_;
    my $packet = Net::DNS::Packet->new($name, $type, 'IN');
    $packet->header->qr(1);
    if (lc($name) eq lc($ENV{DKIM_KEY_NAME}) && uc($type) eq 'TXT') {
        $packet->header->rcode('NOERROR');
        my @strings = unpack('(A255)*', $ENV{DKIM_KEY_TXT});
        $packet->push(answer => Net::DNS::RR->new(name => $name, type => 'TXT',
                                                   txtdata => [@strings]));
    } else {
        $packet->header->rcode('NXDOMAIN');
    }
    return $packet;
}
package main;
Mail::DKIM::DNS::resolver(LocalKey->new);
binmode STDIN;
my $dkim = Mail::DKIM::Verifier->new();
while (read(STDIN, my $buf, 65536)) { $dkim->PRINT($buf); }
$dkim->CLOSE;
my @sigs = $dkim->signatures;
print join(' ', $dkim->result, scalar(@sigs), ($dkim->result_detail // '')), "\n";
"""


@dataclass
class Verdict:
    verifier: str   # "python3-dkim" or "Mail::DKIM"
    ok: bool        # the message's signature verified with the given key
    detail: str     # the library's own words (result, detail, exception)


def txt_record(pubkey: str) -> str:
    key = "".join(pubkey.split()) if "p=" not in pubkey else pubkey.strip()
    return key if "p=" in key else f"v=DKIM1; k=rsa; p={key}"


def verify_python(message: bytes, domain: str, selector: str, pubkey: str) -> Verdict:
    import dkim  # python3-dkim (Debian); imported here so the module loads without it
    name = f"{selector}._domainkey.{domain}."
    record = txt_record(pubkey).encode()
    asked = []

    def dnsfunc(qname, timeout=5):
        text = qname.decode() if isinstance(qname, bytes) else qname
        asked.append(text)
        return record if text.rstrip(".").lower() == name.rstrip(".").lower() else None

    try:
        ok = bool(dkim.verify(message, dnsfunc=dnsfunc))
        return Verdict("python3-dkim", ok, f"verify() returned {ok}; key asked for {asked}")
    except Exception as e:  # the library's failure is the verdict, not a crash
        return Verdict("python3-dkim", False, f"{type(e).__name__}: {e}")


def verify_perl(message: bytes, domain: str, selector: str, pubkey: str) -> Verdict:
    env = dict(os.environ, DKIM_KEY_NAME=f"{selector}._domainkey.{domain}",
               DKIM_KEY_TXT=txt_record(pubkey))
    res = subprocess.run(["perl", "-e", PERL_VERIFIER], input=message, capture_output=True,
                         env=env, timeout=60)
    out = res.stdout.decode(errors="replace").strip()
    if res.returncode != 0:
        return Verdict("Mail::DKIM", False,
                       f"perl exited {res.returncode}: {res.stderr.decode(errors='replace')}")
    return Verdict("Mail::DKIM", out.split(" ", 1)[0] == "pass", out)


def verify_dkim(message: bytes, domain: str, selector: str,
                pubkey: str) -> Dict[str, Verdict]:
    """Both verifiers' verdicts on `message` (bytes as delivered, CRLF line ends),
    keyed by verifier name. A message verifies when every verdict's .ok is True."""
    return {v.verifier: v for v in (verify_python(message, domain, selector, pubkey),
                                    verify_perl(message, domain, selector, pubkey))}

"""bench/dkim_rig.py — the signing set-up of the DKIM points (bench.py DKIM=rsa|ed25519).

Owns: the one private key both relays sign with (DKIM=rsa: RSA-2048, DKIM=ed25519:
Ed25519; `openssl genpkey`, PKCS#8 PEM, so neither relay's own key tool is favoured),
the [dkim.bench] table hubrelay gets for it (bench/relay_config.py), and the opendkim
milter Postfix calls with the same key: OpenDkimUnixRig, the signing rig of
tests/e2e/filter_rigs.py (same private configuration, Syslog off, no DNS) on a unix socket
instead of TCP, as on a production box (over TCP Postfix's milter client meets the
loopback's delayed ACK, ~40 ms a message: bench.py FILTER_SOCKET says the same of rspamd).
Both sign what smtp-source sends (From: <a@example.net>) with d=example.net s=bench,
relaxed/relaxed; hubrelay on its inbound listener (the one the load reaches), OpenDKIM
for every client in 127.0.0.0/8 (InternalHosts). opendkim's process is reported so its
CPU is counted with Postfix's: that is what an administrator runs for the same result.
check_signing(): before the runs, one message through a fresh instance of each relay into
tests/e2e/sink.py (which keeps what it receives) must carry a signature of the key that
python3-dkim verifies: figures of a relay that silently did not sign would mean nothing.
Never: uses /etc/opendkim or DNS; every wait is bounded (FilterRig.start, check_signing).
"""

from __future__ import annotations

import base64
import os
import pwd
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Optional

from harness import PYTHON, Sink, System, log

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent / "tests" / "e2e"))  # after bench/: its harness wins
from dkim_verify import verify_python  # noqa: E402
from filter_rigs import RIG_USER, OpenDkimRig, milter_negotiate_unix  # noqa: E402
from sink import read_messages  # noqa: E402

DOMAIN, SELECTOR = "example.net", "bench"
KINDS = {"rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
         "ed25519": ["-algorithm", "ed25519"]}
ALGORITHMS = {"rsa": "rsa-sha256", "ed25519": "ed25519-sha256"}


def make_key(kind: str, path: Path) -> Path:
    """A new private key of `kind` at `path`, mode 0600 (hubrelay refuses looser)."""
    if kind not in KINDS:
        raise SystemExit(f"bench: unknown DKIM {kind!r} ({', '.join(KINDS)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "genpkey", *KINDS[kind], "-out", str(path)], check=True,
                   capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    path.chmod(0o600)
    return path


class OpenDkimUnixRig(OpenDkimRig):
    """opendkim signing with a given key, listening on a unix socket."""

    def __init__(self, parent: Path, kind: str, key: Path):
        super().__init__(parent, domain=DOMAIN, selector=SELECTOR)
        self.kind = kind
        self.source_key = key
        # sun_path holds 107 bytes and the bench's work dir is long: a short dir of its own.
        self.socket_dir = Path(tempfile.mkdtemp(prefix="hr-opendkim-"))
        self.socket_dir.chmod(0o755)  # Postfix's smtpd (user postfix) connects
        self.socket = self.socket_dir / "milter.sock"

    @property
    def postfix_milter(self) -> str:
        return f"unix:{self.socket}"

    def render(self) -> str:
        text = super().render()
        text = text.replace(f"Socket inet:{self.port}@{self.host}", f"Socket local:{self.socket}")
        text = text.replace("Canonicalization relaxed/simple", "Canonicalization relaxed/relaxed")
        text = text.replace("SignatureAlgorithm rsa-sha256",
                            f"SignatureAlgorithm {ALGORITHMS[self.kind]}")
        # The socket is created by opendkim's user (nobody): Postfix must be able to write it.
        return text.replace("UMask 007", "UMask 000")

    def configure(self) -> None:
        shutil.copyfile(self.source_key, self.key_file)  # the same key, the rig user's copy
        self.key_file.chmod(0o600)
        (self.dir / "opendkim.conf").write_text(self.render())
        if self.as_root:  # opendkim runs as the rig user and creates the socket there
            user = pwd.getpwnam(RIG_USER)
            os.chown(self.socket_dir, user.pw_uid, user.pw_gid)

    def _wait_milter(self, host: str, port: int, deadline: float) -> None:
        def answers() -> bool:
            try:
                milter_negotiate_unix(self.socket, timeout=2.0)
                return True
            except (OSError, ValueError):
                return False
        self.wait_until(answers, deadline, f"a milter negotiation on {self.socket}")

    def stop(self, wait: float = 10.0) -> None:
        super().stop(wait)
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def hubrelay_table(key: Path, threads: Optional[int] = None) -> str:
    """hubrelay's configuration for the same key: the inbound listener's mail is signed."""
    own = f"\n[dkim]\nthreads = {threads}\n" if threads else ""
    return (f'{own}\n[dkim.bench]\ndomain = "{DOMAIN}"\nselector = "{SELECTOR}"\n'
            f'key_file = "{key}"\ndirections = ["inbound"]\n')


def public_record(kind: str, key: Path) -> str:
    """The selector's TXT record for `key`: p= is the SubjectPublicKeyInfo for RSA, the raw
    32-octet key for Ed25519 (RFC 8463 §4.2), i.e. the last 32 octets of its DER."""
    der = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True, timeout=60).stdout
    if kind == "ed25519":
        return f"v=DKIM1; k=ed25519; p={base64.b64encode(der[-32:]).decode()}"
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


class KeepingSink(Sink):
    """tests/e2e/sink.py: stores every message (the signing check only, never measured)."""

    def start(self) -> subprocess.Popen:
        self.out = self.log_path.with_suffix(".d")
        return subprocess.Popen([PYTHON, str(HERE.parent / "tests" / "e2e" / "sink.py"),
                                 "--port", str(self.port), "--out", str(self.out)],
                                stdout=self.log, stderr=subprocess.STDOUT)

    def count(self) -> int:
        return len(read_messages(self.out))


def check_signing(names: List[str], start: Callable[[str, Sink, str], System], work: Path,
                  kind: str, key: Path, timeout: float = 60) -> List[str]:
    """One message through a fresh instance of each relay; its signature must verify.
    Returns a line per relay for the report; raises RuntimeError when one did not sign."""
    record, lines = public_record(kind, key), []
    for name in names:
        system = start(name, KeepingSink(work, f"probe-{name}"), f"probe-{name}")
        try:
            with smtplib.SMTP(system.host, system.port, timeout=timeout) as client:
                client.sendmail("a@example.net", ["b@example.com"],
                                b"From: <a@example.net>\r\nTo: <b@example.com>\r\n"
                                b"Subject: signing check\r\n\r\nOne line.\r\n")
            if not system.sink.wait_count(1, timeout):
                raise RuntimeError(f"{name}: the signing check's message did not arrive")
            raw = read_messages(system.sink.out)[0].raw
        finally:
            system.stop()
        verdict = verify_python(raw, DOMAIN, SELECTOR, record)
        signed = f"a={ALGORITHMS[kind]}".encode() in raw
        if not (verdict.ok and signed):
            raise RuntimeError(f"{name} did not sign with the {kind} key: {verdict.detail}\n"
                               + raw.decode(errors="replace")[:1500])
        lines.append(f"{name}: one message signed a={ALGORITHMS[kind]} d={DOMAIN} s={SELECTOR}, "
                     "verified by python3-dkim")
        log(f"signing check: {lines[-1]}")
        time.sleep(0.2)
    return lines


def hubrelay_signed(log_file: Path) -> str:
    """The report's line on hubrelay's own log: how many queued messages it signed (each
    "queued" line names its signatures, " dkim=d/s/a")."""
    queued = signed = 0
    with open(log_file, errors="replace") as f:
        for line in f:
            if line.rstrip().endswith(" queued"):
                queued += 1
                signed += f" dkim={DOMAIN}/{SELECTOR}/" in line
    text = f"hubrelay's log: {signed} of {queued} queued messages signed."
    return text if signed == queued else f"**{text}** (its figures are not all signing)"

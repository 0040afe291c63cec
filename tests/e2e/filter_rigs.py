#!/usr/bin/python3
"""tests/e2e/filter_rigs.py — real content filters (milters) started on loopback for tests.

Owns: three throw-away filter daemons from the Debian packages, each with a private
configuration in its own directory, listening as a milter on 127.0.0.1:PORT:
  RspamdRig   rspamd (proxy worker in milter mode, scanning itself). Its configuration is
              written from scratch: no stock module or rule is loaded, so nothing can reach
              the network (no RBL, SURBL, fuzzy, neural, reputation, DKIM/DMARC/SPF, MX,
              ASN or URL lookups, no redis); the resolver points at a closed loopback port.
              Two local rules: REJECT_MARKER (score 100, over the reject threshold 15) when
              Subject or message contains REJECT_MARKER, and one that asks the MTA to add
              ADDED_HEADER to every message. `rspamadm configtest` checks the file first.
              With unix_socket=True the same workers also listen on a unix socket
              (.milter_unix, in a short temp dir of its own: sun_path holds 107 bytes):
              over TCP, Postfix's milter client meets the loopback's delayed ACK (~40 ms
              a message), so the bench uses the socket.
  ClamavRig   clamd on a unix socket (in a short temp dir: sun_path holds 107 bytes and
              test directories are named after tests) with a database holding only
              one locally written signature (the EICAR test string, EICAR_SIGNATURE), plus
              clamav-milter with OnInfected Reject (or Quarantine). No freshclam, no network.
  OpenDkimRig opendkim signing (Mode s) for one domain with a key from opendkim-genkey;
              .public_txt is the DNS TXT record a verifier needs (no DNS is used).
Each rig: start() (bounded wait until the milter port answers a milter option negotiation,
the real first round trip of the protocol), stop() (SIGTERM to the process group, SIGKILL
after a bounded wait), logs in its directory, .startup_seconds, .milter ("inet:HOST:PORT",
the form of hubrelay's [milter.NAME] address) and .postfix_milter (Postfix's form).
Context managers: `with RspamdRig(parent_dir) as rig: ...`.
Running as root (CI), the daemons drop to `nobody` (rspamd refuses root workers; the
others are told to), so the rig directory is handed to nobody and its parent made
traversable.
Never: uses /etc/rspamd, /etc/clamav or /etc/opendkim, the system services, freshclam, or
any address outside 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Sequence

REJECT_MARKER = "HUBRELAY-REJECT-MARKER"
ADDED_HEADER = ("X-Hubrelay-Filter", "rspamd-rig")
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
EICAR_SIGNATURE = "Hubrelay.Test.EICAR"
RIG_USER = "nobody"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def missing_binaries(*names: str) -> List[str]:
    """The binaries of `names` that are not installed (a test skips its class on these)."""
    return [n for n in names if shutil.which(n, path="/usr/sbin:/usr/bin:/sbin:/bin") is None]


# --------------------------------------------------------------------------- milter probe

SMFIC_OPTNEG, SMFIC_QUIT = b"O", b"Q"


def milter_negotiate(host: str, port: int, timeout: float = 5.0) -> tuple:
    """One milter option negotiation (protocol 6, every action and step offered), then
    QUIT. Returns the filter's (version, actions, protocol flags); raises OSError or
    ValueError when the port does not answer as a milter."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        return _negotiate(s)


def milter_negotiate_unix(path: Path, timeout: float = 5.0) -> tuple:
    """milter_negotiate() over the filter's unix socket at `path`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        return _negotiate(s)


def _negotiate(s: socket.socket) -> tuple:
    body = SMFIC_OPTNEG + struct.pack(">III", 6, 0x1FF, 0x1FFFFF)
    s.sendall(struct.pack(">I", len(body)) + body)
    head = _read_exact(s, 4)
    (length,) = struct.unpack(">I", head)
    if not 13 <= length <= 1 << 16:
        raise ValueError(f"milter negotiation reply of length {length}")
    reply = _read_exact(s, length)
    if reply[:1] != SMFIC_OPTNEG:
        raise ValueError(f"milter negotiation answered with command {reply[:1]!r}")
    s.sendall(struct.pack(">I", 1) + SMFIC_QUIT)
    return struct.unpack(">III", reply[1:13])


def _read_exact(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("milter closed the connection during negotiation")
        out += chunk
    return out


# --------------------------------------------------------------------------- base

class FilterRig:
    """One filter daemon (or two, for ClamAV) in its own process group and directory."""

    name = "filter"

    def __init__(self, parent: Optional[Path] = None, host: str = "127.0.0.1",
                 port: Optional[int] = None):
        if parent is None:
            self.dir = Path(tempfile.mkdtemp(prefix=f"hubrelay-rig-{self.name}-"))
            self._own_dir = True
        else:
            self.dir = Path(parent) / self.name
            self.dir.mkdir(parents=True, exist_ok=True)
            self._own_dir = False
        self.host, self.port = host, port or free_port(host)
        self.procs: List[subprocess.Popen] = []
        self.startup_seconds: Optional[float] = None
        self.as_root = os.geteuid() == 0

    @property
    def milter(self) -> str:
        """hubrelay's [milter.NAME] address."""
        return f"inet:{self.host}:{self.port}"

    @property
    def postfix_milter(self) -> str:
        """Postfix's smtpd_milters entry."""
        return f"inet:{self.host}:{self.port}"

    @property
    def logs(self) -> List[Path]:
        return sorted(p for p in self.dir.glob("*.log"))

    # -- to be provided by each rig --
    def configure(self) -> None:
        raise NotImplementedError

    def launch(self, deadline: float) -> None:
        raise NotImplementedError

    # -- common machinery --
    def start(self, timeout: float = 60.0) -> "FilterRig":
        t0 = time.monotonic()
        deadline = t0 + timeout
        try:
            self.configure()
            if self.as_root:
                self._hand_to_rig_user()
            self.launch(deadline)
            self._wait_milter(self.host, self.port, deadline)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def spawn(self, cmd: Sequence[str], log_name: str) -> subprocess.Popen:
        """Starts cmd in a new session (its own process group), output to LOG_NAME.log."""
        with open(self.dir / f"{log_name}.log", "ab") as log:
            proc = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    cwd=self.dir)
        self.procs.append(proc)
        return proc

    def _check_alive(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{self.name}: {proc.args[0]} exited with status "
                                   f"{proc.returncode} during start-up\n{self.tail()}")

    def wait_until(self, predicate, deadline: float, what: str) -> None:
        while True:
            self._check_alive()
            if predicate():
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.name}: timed out waiting for {what}\n{self.tail()}")
            time.sleep(0.1)

    def _wait_milter(self, host: str, port: int, deadline: float) -> None:
        def answers() -> bool:
            try:
                milter_negotiate(host, port, timeout=2.0)
                return True
            except (OSError, ValueError):
                return False
        self.wait_until(answers, deadline, f"a milter negotiation on {host}:{port}")

    def stop(self, wait: float = 10.0) -> None:
        """SIGTERM to every process group, SIGKILL after `wait` s; idempotent."""
        for proc in self.procs:
            _kill_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + wait
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _kill_group(proc, signal.SIGKILL)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.procs = []
        if self._own_dir and os.environ.get("HUBRELAY_E2E_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def tail(self, lines: int = 40) -> str:
        out = []
        for path in self.logs:
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(out)

    def _hand_to_rig_user(self) -> None:
        user = pwd.getpwnam(RIG_USER)
        for root, dirs, files in os.walk(self.dir):
            for name in [root, *(os.path.join(root, d) for d in dirs),
                         *(os.path.join(root, f) for f in files)]:
                os.chown(name, user.pw_uid, user.pw_gid)
        # Every ancestor must be traversable by the rig user (test dirs are 0700).
        for parent in self.dir.parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, (mode & 0o7777) | 0o011)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _kill_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# --------------------------------------------------------------------------- rspamd

RSPAMD_RULES = f"""-- generated by tests/e2e/filter_rigs.py: the rig's only rules
local marker = '{REJECT_MARKER}'

-- Reject: score 100 is over the reject threshold (actions.reject = 15).
rspamd_config:register_symbol({{
  name = 'HUBRELAY_REJECT_MARKER',
  score = 100.0,
  description = 'the test reject marker in Subject or anywhere in the message',
  callback = function(task)
    local subject = task:get_subject() or ''
    if subject:find(marker, 1, true) then return true, 'subject' end
    if tostring(task:get_content() or ''):find(marker, 1, true) then
      return true, 'message'
    end
    return false
  end,
}})

-- Add a fixed header to every message (the milter add-header modification).
rspamd_config:register_symbol({{
  name = 'HUBRELAY_ADD_HEADER',
  type = 'postfilter',
  callback = function(task)
    task:set_milter_reply({{add_headers = {{['{ADDED_HEADER[0]}'] = '{ADDED_HEADER[1]}'}}}})
  end,
}})
"""


class RspamdRig(FilterRig):
    """rspamd's proxy worker in milter mode (self_scan), private configuration."""

    name = "rspamd"
    REJECT_TEXT = "Rejected by the rspamd rig"

    def __init__(self, parent: Optional[Path] = None, host: str = "127.0.0.1",
                 port: Optional[int] = None, workers: int = 1, unix_socket: bool = False):
        super().__init__(parent, host, port)
        self.workers = workers
        self.config = self.dir / "rspamd.conf"
        self.socket_dir = Path(tempfile.mkdtemp(prefix="hr-rspamd-")) if unix_socket else None
        self.socket = self.socket_dir / "milter.sock" if self.socket_dir else None
        if self.socket_dir:
            self.socket_dir.chmod(0o755)  # the MTA's user (postfix, hubrelay) connects

    @property
    def milter_unix(self) -> str:
        """The unix-socket address of the same workers (hubrelay's and Postfix's form)."""
        if self.socket is None:
            raise ValueError("RspamdRig(unix_socket=True) has the unix socket")
        return f"unix:{self.socket}"

    def stop(self, wait: float = 10.0) -> None:
        super().stop(wait)
        if self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    def render(self) -> str:
        d = self.dir
        binds = [f'"{self.host}:{self.port}"'] + ([f'"{self.socket} mode=0666"']
                                                  if self.socket else [])
        return f"""# generated by tests/e2e/filter_rigs.py — private rspamd, no stock modules
options {{
  pidfile = "{d}/rspamd.pid";
  filters = "";
  # No network: the only resolver is a closed loopback port (nothing loaded asks it).
  dns {{ nameserver = ["127.0.0.1:9"]; timeout = 1s; retransmits = 1; }}
  local_addrs = [];
  disable_hyperscan = true;
  # A tiny public-suffix list: the stock one (9,600 suffixes) takes ~10 s to compile.
  url_tld = "{d}/tld.dat";
  tempdir = "{d}/tmp";
  control_socket = "{d}/rspamd.sock mode=0600";
}}
logging {{
  type = "file";
  filename = "{d}/rspamd.log";
  level = "info";
}}
actions {{
  reject = 15;
  add_header = 6;
  greylist = null;
}}
lua = "{d}/rules.lua";
worker "rspamd_proxy" {{
  bind_socket = [{", ".join(binds)}];
  milter = yes;
  timeout = 120s;
  upstream "local" {{
    default = yes;
    self_scan = yes;
  }}
  count = {self.workers};
  reject_message = "{self.REJECT_TEXT}";
}}
"""

    def configure(self) -> None:
        (self.dir / "tmp").mkdir(exist_ok=True)
        (self.dir / "tld.dat").write_text("com\nnet\norg\ntest\nexample\n")
        (self.dir / "rules.lua").write_text(RSPAMD_RULES)
        self.config.write_text(self.render())
        check = subprocess.run(["rspamadm", "configtest", "-c", str(self.config)],
                               capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
        (self.dir / "configtest.log").write_text(check.stdout + check.stderr)
        if check.returncode != 0 or "syntax OK" not in check.stdout:
            raise RuntimeError(f"rspamadm configtest -c {self.config} failed:\n"
                               f"{check.stdout}{check.stderr}")

    def launch(self, deadline: float) -> None:
        user = ["-u", RIG_USER, "-g", _group_of(RIG_USER)] if self.as_root else []
        d = str(self.dir)
        self.spawn(["rspamd", "-f", "-c", str(self.config), *user,
                    "--var", f"DBDIR={d}", "--var", f"RUNDIR={d}", "--var", f"LOGDIR={d}"],
                   "rspamd-stderr")


def _group_of(user: str) -> str:
    import grp
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


# --------------------------------------------------------------------------- ClamAV

class ClamavRig(FilterRig):
    """clamd (unix socket, one local signature) + clamav-milter on a loopback port."""

    name = "clamav"

    def __init__(self, parent: Optional[Path] = None, host: str = "127.0.0.1",
                 port: Optional[int] = None, on_infected: str = "Reject"):
        if on_infected not in ("Reject", "Quarantine", "Blackhole", "Accept"):
            raise ValueError(f"OnInfected {on_infected!r}")
        self.on_infected = on_infected
        super().__init__(parent, host, port)
        self.socket_dir = Path(tempfile.mkdtemp(prefix="hr-clamd-"))
        self.socket = self.socket_dir / "clamd.sock"

    def clamd_conf(self) -> str:
        d = self.dir
        user = f"User {RIG_USER}\n" if self.as_root else ""
        return f"""# generated by tests/e2e/filter_rigs.py — private clamd, local signature only
Foreground yes
LocalSocket {self.socket}
LocalSocketMode 660
FixStaleSocket yes
DatabaseDirectory {d}/db
TemporaryDirectory {d}/tmp
LogFile {d}/clamd.log
LogTime yes
LogVerbose yes
PidFile {d}/clamd.pid
{user}ScanMail yes
Bytecode no
SelfCheck 0
"""

    def milter_conf(self) -> str:
        d = self.dir
        user = f"User {RIG_USER}\n" if self.as_root else ""
        return f"""# generated by tests/e2e/filter_rigs.py — clamav-milter for the private clamd
MilterSocket inet:{self.port}@{self.host}
Foreground yes
{user}ClamdSocket unix:{self.socket}
TemporaryDirectory {d}/tmp
PidFile {d}/clamav-milter.pid
LogFile {d}/clamav-milter.log
LogTime yes
LogInfected Full
LogClean Basic
OnClean Accept
OnInfected {self.on_infected}
OnFail Defer
AddHeader Replace
RejectMsg Rejected: virus %v found
ReadTimeout 120
"""

    def configure(self) -> None:
        for sub in ("db", "tmp"):
            (self.dir / sub).mkdir(exist_ok=True)
        # An extended (body-based) signature: the EICAR string anywhere in any scanned
        # object, so the decoded MIME attachment matches whatever its transfer encoding.
        (self.dir / "db" / "hubrelay-test.ndb").write_text(
            f"{EICAR_SIGNATURE}:0:*:{EICAR.hex()}\n")
        (self.dir / "clamd.conf").write_text(self.clamd_conf())
        (self.dir / "clamav-milter.conf").write_text(self.milter_conf())

    def launch(self, deadline: float) -> None:
        if self.as_root:
            user = pwd.getpwnam(RIG_USER)
            os.chown(self.socket_dir, user.pw_uid, user.pw_gid)
        self.spawn(["clamd", "-c", str(self.dir / "clamd.conf")], "clamd-stderr")
        self.wait_until(self._clamd_pongs, deadline, f"clamd PONG on {self.socket}")
        self.spawn(["clamav-milter", "-c", str(self.dir / "clamav-milter.conf")],
                   "clamav-milter-stderr")

    def stop(self, wait: float = 10.0) -> None:
        super().stop(wait)
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def _clamd_pongs(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2.0)
                s.connect(str(self.socket))
                s.sendall(b"zPING\0")
                return s.recv(16).startswith(b"PONG")
        except OSError:
            return False

    def scan(self, data: bytes) -> str:
        """clamd's INSTREAM verdict for `data` ("stream: OK" or "stream: NAME FOUND")."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10.0)
            s.connect(str(self.socket))
            s.sendall(b"zINSTREAM\0" + struct.pack(">I", len(data)) + data
                      + struct.pack(">I", 0))
            return s.recv(4096).rstrip(b"\0").decode(errors="replace")


# --------------------------------------------------------------------------- OpenDKIM

class OpenDkimRig(FilterRig):
    """opendkim signing for `domain` with selector `selector` (key by opendkim-genkey)."""

    name = "opendkim"

    def __init__(self, parent: Optional[Path] = None, host: str = "127.0.0.1",
                 port: Optional[int] = None, domain: str = "example.net",
                 selector: str = "rig", bits: int = 2048):
        super().__init__(parent, host, port)
        self.domain, self.selector, self.bits = domain, selector, bits
        self.key_file = self.dir / f"{selector}.private"
        self.public_txt = ""  # "v=DKIM1; h=sha256; k=rsa; p=..." once started

    def render(self) -> str:
        d = self.dir
        user = f"UserID {RIG_USER}\n" if self.as_root else ""
        return f"""# generated by tests/e2e/filter_rigs.py — opendkim signing only
Mode s
Domain {self.domain}
Selector {self.selector}
KeyFile {self.key_file}
Socket inet:{self.port}@{self.host}
Background no
PidFile {d}/opendkim.pid
{user}Canonicalization relaxed/simple
SignatureAlgorithm rsa-sha256
OversignHeaders From
InternalHosts 127.0.0.0/8
RequireSafeKeys false
Syslog no
LogWhy yes
UMask 007
"""

    def configure(self) -> None:
        subprocess.run(["opendkim-genkey", "-b", str(self.bits), "-d", self.domain,
                        "-s", self.selector, "-D", str(self.dir)], check=True,
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.public_txt = txt_record_of(
            (self.dir / f"{self.selector}.txt").read_text())
        (self.dir / "opendkim.conf").write_text(self.render())

    def launch(self, deadline: float) -> None:
        self.spawn(["opendkim", "-f", "-x", str(self.dir / "opendkim.conf")], "opendkim")


def txt_record_of(zone_text: str) -> str:
    """The TXT value of opendkim-genkey's zone snippet: its quoted strings joined."""
    import re
    parts = re.findall(r'"([^"]*)"', zone_text)
    if not parts:
        raise ValueError(f"no TXT strings in {zone_text!r}")
    return "".join(parts)

#!/usr/bin/python3
"""tests/e2e/sink.py — a real upstream SMTP server that stores what the relay delivers.

Owns: the "next hop" end of every end-to-end test. Built on aiosmtpd (Debian
python3-aiosmtpd, importable only from /usr/bin/python3). Runs either as a subprocess
(so a test can SIGKILL it like a dead smart host) or in-process (InProcessSink).
Never: rewrites, normalises or decodes what it receives.

What is stored, exactly: for every accepted transaction two files in --out DIR,
  <name>.eml   the DATA payload exactly as aiosmtpd hands it over in
               envelope.original_content: the bytes between "354" and the terminating
               CRLF "." CRLF, with the RFC 5321 §4.5.2 transparency dot removed from every
               CRLF-terminated line that starts with "." — nothing else (no line-ending
               conversion; aiosmtpd 1.4 ends lines ONLY at CRLF, so a bare LF or a bare
               CR, including "\\n.\\n", is ordinary content here and cannot end DATA).
               This is the message as the sending client meant it, byte for byte.
  <name>.json  the envelope: mail_from, rcpt_tos, mail_options, rcpt_options, helo,
               peer, sink_port, received_at (Unix seconds, float), size, eml (file name).
Both are written to a temporary name and renamed, the .json last, so a reader that
only looks at *.json never sees a partial message. The final 250 is sent only after
both renames, so "the relay got 250" implies "the files exist".

Modes (--mode may repeat; a value may also be comma-separated):
  accept               250 for everything (default)
  tempfail             451 4.3.0 after the final dot, for every message
  permfail             554 5.6.0 after the final dot, for every message
  tempfail-rcpt=ADDR   451 4.2.1 for RCPT TO ADDR (case-insensitive), others accepted
  permfail-rcpt=ADDR   550 5.1.1 for RCPT TO ADDR (case-insensitive), others accepted
  full-rcpt=ADDR       552 5.5.3 for RCPT TO ADDR ("too many recipients", RFC 5321 §4.5.3.1.10)
  tempfail-first=N     451 4.3.0 after the final dot for the first N messages, then accept
  delay=SECONDS        wait this long before answering the final dot
  delay-after-store=SECONDS
                       store the message, then wait this long before answering the final
                       dot (a next hop that has the message while the client still waits
                       for its 250; logs "answered NAME" once it does)
  delay-rcpt=SECONDS   wait this long before answering each RCPT (recipient callouts in flight)
  dsn                  also offer DSN (RFC 3461) in EHLO and accept RET/ENVID/NOTIFY/ORCPT
                       (stored, upper-cased by aiosmtpd, in mail_options/rcpt_options)
  no-smtputf8          do not offer SMTPUTF8 (RFC 6531); it is offered by default
  requiretls           offer REQUIRETLS (RFC 8689) in the EHLO reply after STARTTLS and accept
                       the MAIL parameter (stored in mail_options)

TLS and AUTH (routing tests): --tls-cert FILE --tls-key FILE offers STARTTLS
(--require-tls makes it mandatory before MAIL); --auth USER:PASSWORD requires AUTH
(PLAIN/LOGIN, only after STARTTLS when TLS is offered). The stored .json then also
carries "tls" (bool) and "auth_user".

Standards: RFC 5321 (SMTP), RFC 3463 (enhanced status codes in the sink's replies).
Subprocess protocol: prints "READY <port>" on stdout once listening, then nothing else
on stdout (log lines go to stderr); exits 0 on SIGTERM/SIGINT, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, List, Optional

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

# aiosmtpd defaults to 32 MiB; the relay's listeners allow 35 MiB. The sink must never
# be the reason a large-message test fails.
DATA_SIZE_LIMIT = 64 * 1024 * 1024


@dataclass
class SinkModes:
    tempfail_all: bool = False
    permfail_all: bool = False
    tempfail_rcpts: set = field(default_factory=set)
    permfail_rcpts: set = field(default_factory=set)
    full_rcpts: set = field(default_factory=set)
    tempfail_first: int = 0
    delay: float = 0.0
    delay_after_store: float = 0.0
    delay_rcpt: float = 0.0
    dsn: bool = False
    no_smtputf8: bool = False
    requiretls: bool = False

    @staticmethod
    def parse(specs: Iterable[str]) -> "SinkModes":
        modes = SinkModes()
        for spec in specs:
            for item in filter(None, (s.strip() for s in spec.split(","))):
                name, _, value = item.partition("=")
                if name == "accept" and not value:
                    continue
                if name == "tempfail" and not value:
                    modes.tempfail_all = True
                elif name == "permfail" and not value:
                    modes.permfail_all = True
                elif name == "tempfail-rcpt" and value:
                    modes.tempfail_rcpts.add(value.lower())
                elif name == "permfail-rcpt" and value:
                    modes.permfail_rcpts.add(value.lower())
                elif name == "full-rcpt" and value:
                    modes.full_rcpts.add(value.lower())
                elif name == "tempfail-first" and value.isdigit():
                    modes.tempfail_first = int(value)
                elif name == "delay" and value:
                    modes.delay = float(value)
                elif name == "delay-after-store" and value:
                    modes.delay_after_store = float(value)
                elif name == "delay-rcpt" and value:
                    modes.delay_rcpt = float(value)
                elif name == "dsn" and not value:
                    modes.dsn = True
                elif name == "no-smtputf8" and not value:
                    modes.no_smtputf8 = True
                elif name == "requiretls" and not value:
                    modes.requiretls = True
                else:
                    raise ValueError(f"unknown sink mode {item!r}")
        return modes


class SinkHandler:
    """aiosmtpd handler: applies the modes and stores accepted messages."""

    def __init__(self, out_dir: Path, port: int, modes: SinkModes):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.modes = modes
        self._seq = itertools.count(1)
        self._data_count = 0
        self._lock = threading.Lock()
        # Every RCPT as (mail_from, address) — recipient callouts (MAIL FROM:<>,
        # no DATA) are told apart from deliveries by the sender. Also logged to stderr.
        self.rcpt_log: List[tuple] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        key = address.lower()
        with self._lock:
            self.rcpt_log.append((envelope.mail_from, address))
        print(f"sink {self.port}: RCPT from=<{envelope.mail_from}> to=<{address}>", file=sys.stderr, flush=True)
        if self.modes.delay_rcpt > 0:
            await asyncio.sleep(self.modes.delay_rcpt)
        if key in self.modes.permfail_rcpts:
            return "550 5.1.1 sink: mailbox unavailable (permfail-rcpt)"
        if key in self.modes.tempfail_rcpts:
            return "451 4.2.1 sink: try again later (tempfail-rcpt)"
        if key in self.modes.full_rcpts:
            return "552 5.5.3 sink: too many recipients (full-rcpt)"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self._data_count += 1
            number = self._data_count
        if self.modes.delay > 0:
            await asyncio.sleep(self.modes.delay)
        if self.modes.permfail_all:
            return "554 5.6.0 sink: rejected (permfail)"
        if self.modes.tempfail_all or number <= self.modes.tempfail_first:
            return "451 4.3.0 sink: try again later (tempfail)"
        name = self._store(session, envelope)
        print(f"sink {self.port}: stored {name} from={envelope.mail_from} "
              f"rcpts={len(envelope.rcpt_tos)} size={len(envelope.original_content)}",
              file=sys.stderr, flush=True)
        if self.modes.delay_after_store > 0:
            await asyncio.sleep(self.modes.delay_after_store)
            print(f"sink {self.port}: answered {name}", file=sys.stderr, flush=True)
        return f"250 2.0.0 OK stored {name}"

    def _store(self, session, envelope) -> str:
        name = f"{time.time_ns()}-{os.getpid()}-{next(self._seq):06d}"
        raw: bytes = envelope.original_content
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "rcpt_options": list(envelope.rcpt_options),
            "helo": session.host_name,
            "peer": list(session.peer) if session.peer else None,
            "sink_port": self.port,
            "tls": session.ssl is not None,
            "auth_user": (session.auth_data.login.decode(errors="replace")
                          if getattr(session, "auth_data", None) is not None
                          and hasattr(session.auth_data, "login") else None),
            "received_at": time.time(),
            "size": len(raw),
            "eml": name + ".eml",
        }
        _write_atomically(self.out_dir / (name + ".eml"), raw)
        _write_atomically(self.out_dir / (name + ".json"),
                          json.dumps(meta, indent=1).encode())
        return name


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


@dataclass
class StoredMessage:
    """One message as found in a sink's output directory."""
    name: str
    meta: dict
    raw: bytes

    @property
    def mail_from(self) -> str:
        return self.meta["mail_from"]

    @property
    def rcpt_tos(self) -> List[str]:
        return self.meta["rcpt_tos"]


def read_messages(out_dir) -> List[StoredMessage]:
    """All complete messages in out_dir, oldest first. Missing directory: none."""
    out = Path(out_dir)
    if not out.is_dir():
        return []
    found = []
    for meta_path in sorted(out.glob("*.json")):
        meta = json.loads(meta_path.read_bytes())
        raw = (out / meta["eml"]).read_bytes()
        found.append(StoredMessage(meta_path.stem, meta, raw))
    return found


# TLS/AUTH options for every SMTP instance of this process (set by main()).
SECURITY: dict = {}


class ExtensionSMTP(SMTP):
    """aiosmtpd has neither DSN nor REQUIRETLS: this one offers those its modes ask for
    and lets their parameters through (aiosmtpd answers 555 to parameters its
    _getparams leaves behind). REQUIRETLS is offered on a TLS session only (RFC 8689)."""

    DSN_KEYWORDS = ("RET", "ENVID", "NOTIFY", "ORCPT")

    def __init__(self, handler, *args, **kwargs):
        super().__init__(handler, *args, **kwargs)
        self.modes = handler.modes

    def _getparams(self, params):
        result = super()._getparams(params)
        if result is not None:
            keywords = (self.DSN_KEYWORDS if self.modes.dsn else ()) + (
                ("REQUIRETLS",) if self.modes.requiretls and self.session.ssl is not None else ())
            for keyword in keywords:
                result.pop(keyword, None)
        return result

    async def push(self, status):
        # "250 HELP" is the last line of aiosmtpd's EHLO reply: ours go just before it.
        if status == "250 HELP":
            if self.modes.dsn:
                await super().push("250-DSN")
            if self.modes.requiretls and self.session.ssl is not None:
                await super().push("250-REQUIRETLS")
        return await super().push(status)


def _make_smtp(handler: SinkHandler) -> SMTP:
    cls = ExtensionSMTP if handler.modes.dsn or handler.modes.requiretls else SMTP
    return cls(handler, data_size_limit=DATA_SIZE_LIMIT, enable_SMTPUTF8=not handler.modes.no_smtputf8,
               decode_data=False, hostname="sink.test", timeout=120, **SECURITY)


def _security_options(cert: Optional[str], key: Optional[str], require_tls: bool,
                      auth: Optional[str]) -> dict:
    import ssl
    from aiosmtpd.smtp import AuthResult, LoginPassword
    options: dict = {}
    if cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        options["tls_context"] = context
        options["require_starttls"] = require_tls
    if auth:
        user, _, password = auth.partition(":")

        def authenticator(server, session, envelope, mechanism, data):
            ok = (isinstance(data, LoginPassword) and data.login.decode() == user
                  and data.password.decode() == password)
            return AuthResult(success=ok, auth_data=data if ok else None)

        options["authenticator"] = authenticator
        options["auth_required"] = True
        options["auth_require_tls"] = bool(cert)
    return options


class InProcessSink:
    """The same sink on aiosmtpd's threaded Controller, for tests that need no kill.

    with InProcessSink(out_dir, port=free_port()) as sink: ... sink.messages()
    """

    def __init__(self, out_dir, host: str = "127.0.0.1", port: int = 0,
                 modes: Iterable[str] = ()):
        if port == 0:
            raise ValueError("InProcessSink needs an explicit port")
        self.host, self.port, self.out_dir = host, port, Path(out_dir)
        self.handler = SinkHandler(self.out_dir, port, SinkModes.parse(modes))
        handler = self.handler

        class _Controller(Controller):
            def factory(self):
                return _make_smtp(handler)

        self._controller = _Controller(handler, hostname=host, port=port,
                                       ready_timeout=10.0)

    def start(self) -> "InProcessSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def messages(self) -> List[StoredMessage]:
        return read_messages(self.out_dir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


async def _serve(host: str, port: int, handler: SinkHandler) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    server = await loop.create_server(lambda: _make_smtp(handler), host, port,
                                      reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    handler.port = bound
    print(f"READY {bound}", flush=True)
    await stop
    server.close()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="hubrelay e2e SMTP sink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True, help="directory for .eml/.json pairs")
    parser.add_argument("--mode", action="append", default=[],
                        help="accept|tempfail|permfail|tempfail-rcpt=ADDR|"
                             "permfail-rcpt=ADDR|tempfail-first=N|delay=SECONDS")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--require-tls", action="store_true")
    parser.add_argument("--auth", help="USER:PASSWORD required via AUTH PLAIN/LOGIN")
    args = parser.parse_args(argv)
    SECURITY.update(_security_options(args.tls_cert, args.tls_key, args.require_tls, args.auth))
    try:
        modes = SinkModes.parse(args.mode)
    except ValueError as e:
        print(f"sink: {e}", file=sys.stderr)
        return 2
    handler = SinkHandler(Path(args.out), args.port, modes)
    asyncio.run(_serve(args.host, args.port, handler))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""tests/e2e/scripted_milter.py — a content filter on the real libmilter (python3-milter),
driven by a JSON script, for the milter end-to-end tests (test_milter.py).

Owns: one filter process listening on loopback. The script (a JSON file, re-read at every
callback so a test may change it between messages) says per stage what to answer:
    {"negotiate": {"skip": ["body", "helo"], "noreply": ["header"]},
     "stages": {"<stage>": {"action": "continue|accept|reject|tempfail|discard|skip",
                            "reply": ["550", "5.7.1", "first line", "more lines"...],
                            "delay": 3.0, "progress": true,
                            "mods": [{"op": "addheader", "name": "X-A", "value": "v", "idx": -1},
                                     {"op": "chgheader", "name": "Subject", "idx": 1, "value": ""},
                                     {"op": "replbody", "body": "text"},
                                     {"op": "chgfrom", "sender": "<a@b>", "params": "SIZE=1"},
                                     {"op": "addrcpt", "rcpt": "<c@d>", "params": null},
                                     {"op": "delrcpt", "rcpt": "<e@f>"},
                                     {"op": "quarantine", "reason": "why"}],
                            "die": true, "match": "<carol@example.com>"}}}
Stages: connect, helo, mail, rcpt, data, header, eoh, body, eom. "die" ends the process at
once (a filter that dies mid-message). Every callback is appended to the events file as a
JSON line (stage, arguments, macros), so tests see what the MTA sent. "match": the plan
holds only for a callback whose argument (recipient, sender, HELO name) is that text;
any other answers continue.
A second mode, --raw, is a hand-written filter (libmilter cannot misbehave): it negotiates,
answers "continue" and, at the stage named in the script's "raw" entry, sends the given
bytes (hex) instead of a reply: malformed or oversize packets.
Usage: scripted_milter.py PORT|/unix/socket/path SCRIPT EVENTS [--raw]  (--raw: a port only)
"""

import json
import os
import socket
import struct
import sys
import time

SCRIPT = sys.argv[2]
EVENTS = sys.argv[3]
MACROS = ["j", "_", "{daemon_name}", "{client_addr}", "{client_name}", "{client_port}", "{if_addr}",
          "{tls_version}", "{cipher}", "{auth_type}", "{auth_authen}", "{mail_addr}", "{rcpt_addr}", "i"]


def script():
    with open(SCRIPT) as f:
        return json.load(f)


def event(stage, **fields):
    with open(EVENTS, "a") as f:
        f.write(json.dumps({"stage": stage, **fields}) + "\n")


def run_libmilter(port):
    import Milter

    class Scripted(Milter.Base):
        def __init__(self):
            self.id = Milter.uniqueID()

        def negotiate(self, opts):
            rc = super().negotiate(opts)
            wanted = script().get("negotiate", {})
            bits = {"connect": Milter.P_NOCONNECT, "helo": Milter.P_NOHELO, "mail": Milter.P_NOMAIL,
                    "rcpt": Milter.P_NORCPT, "data": Milter.P_NODATA, "header": Milter.P_NOHDRS,
                    "eoh": Milter.P_NOEOH, "body": Milter.P_NOBODY}
            nr = {"connect": Milter.P_NR_CONN, "helo": Milter.P_NR_HELO, "mail": Milter.P_NR_MAIL,
                  "rcpt": Milter.P_NR_RCPT, "data": Milter.P_NR_DATA, "header": Milter.P_NR_HDR,
                  "eoh": Milter.P_NR_EOH, "body": Milter.P_NR_BODY}
            extra = 0
            for stage in wanted.get("skip", []):
                extra |= bits[stage]
            for stage in wanted.get("noreply", []):
                extra |= nr[stage]
            self.noreply = set(wanted.get("noreply", []))
            opts[1] = self._protocol = opts[1] | extra
            return rc

        def macros(self):
            found = {}
            for name in MACROS:
                value = self.getsymval(name)
                if value is not None:
                    found[name] = value
            return found

        def act(self, stage, **fields):
            event(stage, macros=self.macros(), **fields)
            plan = script().get("stages", {}).get(stage, {})
            if "match" in plan and plan["match"] not in fields.values():
                plan = {}
            if plan.get("die"):
                os._exit(3)
            delay = plan.get("delay", 0)
            while delay > 0:
                step = min(delay, 1.0)
                time.sleep(step)
                delay -= step
                if plan.get("progress") and stage == "eom":
                    self.progress()
            if stage == "eom":
                for mod in plan.get("mods", []):
                    self.modify(mod)
            reply = plan.get("reply")
            if reply:
                self.setreply(reply[0], reply[1], reply[2], *reply[3:])
            if stage in getattr(self, "noreply", ()):
                return Milter.NOREPLY
            return {"continue": Milter.CONTINUE, "accept": Milter.ACCEPT, "reject": Milter.REJECT,
                    "tempfail": Milter.TEMPFAIL, "discard": Milter.DISCARD,
                    "skip": Milter.SKIP}[plan.get("action", "continue")]

        def modify(self, mod):
            op = mod["op"]
            if op == "addheader":
                self.addheader(mod["name"], mod["value"], mod.get("idx", -1))
            elif op == "chgheader":
                self.chgheader(mod["name"], mod["idx"], mod["value"])
            elif op == "replbody":
                self.replacebody(mod["body"].encode("latin-1"))
            elif op == "chgfrom":
                self.chgfrom(mod["sender"], mod.get("params"))
            elif op == "addrcpt":
                self.addrcpt(mod["rcpt"], mod.get("params"))
            elif op == "delrcpt":
                self.delrcpt(mod["rcpt"])
            elif op == "quarantine":
                self.quarantine(mod["reason"])

        def connect(self, hostname, family, hostaddr):
            return self.act("connect", hostname=hostname, address=list(hostaddr) if hostaddr else None)

        def hello(self, heloname):
            return self.act("helo", name=heloname)

        def envfrom(self, sender, *params):
            return self.act("mail", sender=sender, params=list(params))

        def envrcpt(self, rcpt, *params):
            return self.act("rcpt", rcpt=rcpt, params=list(params))

        def data(self):
            return self.act("data")

        def header(self, name, value):
            return self.act("header", name=name, value=value)

        def eoh(self):
            return self.act("eoh")

        def body(self, chunk):
            return self.act("body", size=len(chunk), text=chunk.decode("latin-1"))

        def eom(self):
            return self.act("eom")

        def abort(self):
            event("abort")
            return Milter.CONTINUE

        def close(self):
            event("close")
            return Milter.CONTINUE

    Milter.factory = Scripted
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.ADDRCPT | Milter.ADDRCPT_PAR |
                     Milter.DELRCPT | Milter.QUARANTINE | Milter.CHGFROM)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    where = f"unix:{port}" if str(port).startswith("/") else f"inet:{port}@127.0.0.1"
    Milter.runmilter("scripted", where, 600)


def packet(code, data=b""):
    return struct.pack(">I", len(data) + 1) + code + data


def run_raw(port):
    """A hand-written filter: valid until the scripted stage, then the scripted bytes."""
    codes = {b"C": "connect", b"H": "helo", b"M": "mail", b"R": "rcpt", b"T": "data", b"L": "header",
             b"N": "eoh", b"B": "body", b"E": "eom"}
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        conn, _ = server.accept()
        buffer = b""
        try:
            while True:
                while len(buffer) < 4 or len(buffer) < 4 + struct.unpack(">I", buffer[:4])[0]:
                    data = conn.recv(65536)
                    if not data:
                        raise EOFError
                    buffer += data
                length = struct.unpack(">I", buffer[:4])[0]
                code = buffer[4:5]
                buffer = buffer[4 + length:]
                if code == b"O":
                    conn.sendall(packet(b"O", struct.pack(">III", 6, 0x1ff, 0)))
                    continue
                if code in (b"D", b"A"):
                    continue
                if code == b"Q":
                    break
                stage = codes.get(code, "?")
                event(stage, raw=True)
                raw = script().get("raw", {})
                if raw.get("stage") == stage:
                    conn.sendall(bytes.fromhex(raw["hex"]))
                    continue
                conn.sendall(packet(b"c"))
        except (EOFError, OSError):
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    if "--raw" in sys.argv:
        run_raw(int(sys.argv[1]))
    else:
        run_libmilter(sys.argv[1] if sys.argv[1].startswith("/") else int(sys.argv[1]))

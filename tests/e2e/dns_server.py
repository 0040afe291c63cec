#!/usr/bin/python3
"""tests/e2e/dns_server.py — a tiny authoritative DNS server on 127.0.0.1 for routing tests.

Owns: answering UDP queries (RFC 1035) from a zone dict the test controls, so MX
delivery can be tested without the real DNS: MX, A and AAAA records with TTLs, null MX
(exchange "."), NXDOMAIN for unknown names, NOERROR/NODATA for known names without
records of the type, and SERVFAIL for names listed in `servfail`. Counts queries per
(name, type) so a test can see the relay's cache at work. DNSBL zones are
plain A records ("2.0.0.127.bl.test": {"A": ["127.0.0.2"]}); TXT records (strings)
are answered too, and names in `silent` get no answer at all (a timeout). Names in
`slow` are answered after that many seconds (so a test can have questions overlap).
DANE: TLSA records ("_25._tcp.mx.example": {"TLSA": [(3, 1, 1, "hex")]}), and the AD bit
(RFC 4035 §3.2.3) on answers for names listed in `authentic` ("*": every name) — set only
when the query itself carried AD or DO, as a validating resolver does (RFC 6840 §5.7), so
a test also proves the relay asks for it. Counts queries that asked (`ad_requests`).
Never: recurses, answers over TCP, or binds anything but 127.0.0.1 (random free port).
Threading: one daemon thread; stop() closes the socket and joins (bounded).
"""

from __future__ import annotations

import collections
import socket
import struct
import threading
from typing import Dict, List, Optional, Tuple

TYPES = {"A": 1, "MX": 15, "TXT": 16, "AAAA": 28, "TLSA": 52}
TYPE_NAMES = {v: k for k, v in TYPES.items()}


def encode_name(name: str) -> bytes:
    out = b""
    for label in filter(None, name.rstrip(".").split(".")):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def decode_name(packet: bytes, pos: int) -> Tuple[str, int]:
    labels = []
    for _ in range(128):  # bounded: no pointer loops in questions we accept
        length = packet[pos]
        if length == 0:
            return ".".join(labels), pos + 1
        if length & 0xC0:
            raise ValueError("compressed names are not expected in questions")
        labels.append(packet[pos + 1:pos + 1 + length].decode(errors="replace"))
        pos += 1 + length
    raise ValueError("name too long")


class DnsServer:
    """zone: {"name": {"MX": [(10, "mx1.example")], "A": ["127.0.0.1"], "AAAA": []}}"""

    def __init__(self, zone: Dict[str, Dict[str, list]], ttl: int = 300,
                 servfail: Tuple[str, ...] = (), silent: Tuple[str, ...] = (),
                 slow: Optional[Dict[str, float]] = None, authentic: Tuple[str, ...] = ()):
        self.zone = {k.lower().rstrip("."): v for k, v in zone.items()}
        self.ttl = ttl
        self.servfail = {s.lower() for s in servfail}
        self.silent = {s.lower() for s in silent}
        self.slow = {k.lower(): v for k, v in (slow or {}).items()}
        self.authentic = {a.lower().rstrip(".") for a in authentic}
        self.ad_requests = 0
        self._timers: List[threading.Timer] = []
        self.queries: Dict[Tuple[str, str], int] = collections.Counter()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._lock = threading.Lock()

    def start(self) -> "DnsServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for timer in self._timers:
            timer.cancel()
        self._thread.join(timeout=5)
        self.sock.close()

    def count(self, name: str, qtype: str) -> int:
        with self._lock:
            return self.queries[(name.lower(), qtype)]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                packet, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                reply = self.answer(packet)
            except (ValueError, IndexError, struct.error):
                continue
            if reply is None:  # a `silent` name: let the client time out
                continue
            delay = self.slow.get(question_name(packet))
            if delay:
                timer = threading.Timer(delay, self._send_late, (reply, peer))
                self._timers.append(timer)
                timer.start()
                continue
            self.sock.sendto(reply, peer)

    def _send_late(self, reply: bytes, peer) -> None:
        if not self._stop.is_set():
            try:
                self.sock.sendto(reply, peer)
            except OSError:
                pass

    def answer(self, packet: bytes) -> "bytes | None":
        qid, query_flags, qdcount = struct.unpack("!HHH", packet[:6])
        if qdcount != 1:
            raise ValueError("one question expected")
        name, pos = decode_name(packet, 12)
        qtype, _qclass = struct.unpack("!HH", packet[pos:pos + 4])
        question = packet[12:pos + 4]
        key = name.lower().rstrip(".")
        with self._lock:
            self.queries[(key, TYPE_NAMES.get(qtype, str(qtype)))] += 1
            asked_ad = bool(query_flags & 0x0020) or dnssec_ok(packet, pos + 4)
            self.ad_requests += asked_ad
        answers: List[bytes] = []
        rcode = 0
        if key in self.silent:
            return None
        if key in self.servfail:
            rcode = 2
        elif key not in self.zone:
            rcode = 3
        else:
            records = self.zone[key]
            for value in records.get(TYPE_NAMES.get(qtype, ""), []):
                if qtype == 15:
                    pref, host = value
                    rdata = struct.pack("!H", pref) + encode_name(host)
                elif qtype == 1:
                    rdata = socket.inet_pton(socket.AF_INET, value)
                elif qtype == 52:  # TLSA: usage, selector, matching type, association data
                    usage, selector, matching, data = value
                    rdata = bytes([usage, selector, matching]) + bytes.fromhex(data)
                elif qtype == 16:  # TXT: character-strings of at most 255 octets each
                    text = value.encode()
                    rdata = b"".join(bytes([len(text[i:i + 255])]) + text[i:i + 255]
                                     for i in range(0, max(len(text), 1), 255))
                else:
                    rdata = socket.inet_pton(socket.AF_INET6, value)
                # 0xC00C: a pointer to the name in the question.
                answers.append(struct.pack("!HHHIH", 0xC00C, qtype, 1, self.ttl, len(rdata)) + rdata)
        flags = 0x8400 | 0x0100 | 0x0080 | rcode  # QR, AA, RD, RA + rcode
        if asked_ad and rcode != 2 and ("*" in self.authentic or key in self.authentic):
            flags |= 0x0020  # AD: "validated" (this server vouches, like a local unbound)
        header = struct.pack("!HHHHHH", qid, flags, 1, len(answers), 0, 0)
        return header + question + b"".join(answers)


def question_name(packet: bytes) -> str:
    """The lower-cased name of the (first) question of a query."""
    name, _pos = decode_name(packet, 12)
    return name.lower().rstrip(".")


def dnssec_ok(packet: bytes, pos: int) -> bool:
    """Whether an OPT record after the question (EDNS, RFC 6891) has the DO bit."""
    _q, _an, _ns, arcount = struct.unpack("!HHHH", packet[4:12])
    if arcount < 1 or len(packet) < pos + 11 or packet[pos] != 0:
        return False
    rtype, _size, _ext_rcode, _version, flags = struct.unpack("!HHBBH", packet[pos + 1:pos + 9])
    return rtype == 41 and bool(flags & 0x8000)

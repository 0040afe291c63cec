#!/usr/bin/python3
"""tests/e2e/smtp_load.py — SMTP load through a balancer, retried the way an MTA retries.

Owns: RetryingSender (a few smtplib threads sending a batch of messages with unique
Message-IDs, a new session every few messages so a round-robin balancer spreads them;
connection errors and 4xx make the thread reconnect and resend the same message, 5xx is
recorded as a permanent failure; an optional gate pauses every thread halfway through its
share so that a test can do something, e.g. kill -9 a relay, between the halves) and
queued_count (messages a relay's log says it answered 250 on its inbound listener).
Never: waits without a bound (per-message attempts and a whole-batch deadline).
Used by the multi-node tests (test_scale_out.py, test_pg_nodes.py).
"""

import collections
import smtplib
import threading
import time
from typing import Dict, List, Optional, Set, Tuple

from harness import build_message

# Senders connect to the balancer from these sources (one per thread); it reaches the
# relays from elsewhere, so a Received: header naming one of them proves the PROXY header
# was used.
CLIENT_SOURCES = ("127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8")
RECIPIENT = "bob@example.com"
SENDER = "alice@example.net"
THREADS = 4
PER_SESSION = 3           # a new connection every few messages, so roundrobin spreads them
MAX_ATTEMPTS = 40         # per message; bounded like an MTA's retry schedule
SEND_DEADLINE = 90.0      # seconds for a whole batch, retries included


class RetryingSender:
    """THREADS threads send a batch through the balancer with smtplib; every 250 is recorded.

    Connection errors and 4xx make the thread reconnect and resend the same message (same
    Message-ID), as a real MTA's queue would; 5xx is recorded as a permanent failure."""

    def __init__(self, host: str, port: int, prefix: str, count: int, pace: float = 0.0,
                 gate: Optional[threading.Event] = None):
        # pace: pause between messages; gate: each thread sends the first half of its
        # share, then waits (bounded) for the gate, so part of the batch surely comes after
        # whatever the test does at the gate (the kill).
        self.host, self.port, self.pace, self.gate = host, port, pace, gate
        self.lock = threading.Lock()
        self.messages: Dict[str, Tuple[bytes, str]] = {}   # mid -> (bytes, source address)
        self.acked: List[str] = []
        self.failed: List[Tuple[str, str]] = []
        self.retries = collections.Counter()
        # Messages sent again after a session broke or answered 4xx: the relay may have
        # queued the first copy before the break (a duplicate the sender caused).
        self.resent: Set[str] = set()
        self.work: List[List[str]] = [[] for _ in range(THREADS)]
        for i in range(count):
            mid, raw = build_message(sender=SENDER, to=(RECIPIENT,),
                                     subject=f"scale-out {prefix} {i}")
            self.messages[mid] = (raw, CLIENT_SOURCES[i % THREADS])
            self.work[i % THREADS].append(mid)
        self.threads = [threading.Thread(target=self._run, args=(t,), daemon=True)
                        for t in range(THREADS)]

    def start(self) -> "RetryingSender":
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def acked_ids(self) -> List[str]:
        with self.lock:
            return list(self.acked)

    def resent_ids(self) -> Set[str]:
        with self.lock:
            return set(self.resent)

    def _run(self, index: int) -> None:
        source = CLIENT_SOURCES[index]
        deadline = time.monotonic() + SEND_DEADLINE
        session: Optional[smtplib.SMTP] = None
        in_session = 0
        for n, mid in enumerate(self.work[index]):
            if self.gate is not None and n == len(self.work[index]) // 2:
                self.gate.wait(60)
            if self.pace:
                time.sleep(self.pace)
            raw = self.messages[mid][0]
            for attempt in range(MAX_ATTEMPTS):
                if time.monotonic() >= deadline:
                    with self.lock:
                        self.failed.append((mid, "batch deadline passed"))
                    break
                if attempt > 0:
                    with self.lock:
                        self.resent.add(mid)
                try:
                    if session is None or in_session >= PER_SESSION:
                        _close(session)
                        session, in_session = None, 0
                        session = smtplib.SMTP(self.host, self.port, local_hostname="client.test",
                                               timeout=15, source_address=(source, 0))
                        code, _ = session.ehlo()
                        if code != 250:
                            raise smtplib.SMTPResponseException(code, b"EHLO refused")
                    session.sendmail(SENDER, [RECIPIENT], raw)
                    in_session += 1
                    with self.lock:
                        self.acked.append(mid)
                    break
                except smtplib.SMTPRecipientsRefused as e:
                    code = min(c for c, _ in e.recipients.values())
                    if not self._temporary(mid, code, str(e)):
                        break
                except smtplib.SMTPResponseException as e:
                    if not self._temporary(mid, e.smtp_code, str(e)):
                        break
                except (smtplib.SMTPServerDisconnected, OSError) as e:
                    with self.lock:
                        self.retries[type(e).__name__] += 1
                # Anything temporary: a fresh connection (the balancer picks a live relay).
                _close(session)
                session, in_session = None, 0
                time.sleep(min(0.1 * (attempt + 1), 1.0))
            else:
                with self.lock:
                    self.failed.append((mid, f"{MAX_ATTEMPTS} attempts failed"))
        _close(session)

    def _temporary(self, mid: str, code: int, text: str) -> bool:
        with self.lock:
            if 400 <= code < 500 or code == -1:
                self.retries[f"{code}"] += 1
                return True
            self.failed.append((mid, f"{code} {text}"))
            return False


def _close(session: Optional[smtplib.SMTP]) -> None:
    if session is None:
        return
    try:
        session.quit()
    except (smtplib.SMTPException, OSError):
        session.close()


def queued_count(log_text: str) -> int:
    """Messages a relay answered 250 on its inbound listener (the 'queued' log line)."""
    return sum(1 for line in log_text.splitlines()
               if "listener=inbound" in line and line.rstrip().endswith("queued"))

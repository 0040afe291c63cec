#!/usr/bin/python3
"""bench/body_sink.py — a smart host that checks what arrives without keeping it.

Owns: the receiving end of bench/big_messages.py. smtp-sink only counts messages; a
30 MiB point must also prove every body arrived byte for byte, and storing 50 × 30 MiB
per run just to compare it afterwards would put gigabytes of disk writes next to the
relay under test. So this sink streams each message through SHA-256 and forgets it.
For every accepted message it appends one line to --log, before answering 250:
  "<body octets> <sha256 of the body>"
where the body is everything after the first empty line (the header section differs per
relay: each adds its Received: line) up to and including the CRLF before the terminating
".", exactly as it travelled (dot-stuffed; stuffing is a function of the content, so equal
content gives equal bytes). Its line count is the sink's message counter.
Never: keeps a message in memory (only up to one read block and the header section), or
offers extensions (no PIPELINING, SIZE, CHUNKING, STARTTLS): every client falls back to
plain DATA, and a pipelined command after the final "." is still read in order.
Standards: RFC 5321 §4.1 (commands), §4.5.2 (transparency), §3.3 (DATA ends at CRLF.CRLF).
Usage: body_sink.py --port PORT --log FILE   (listens on 127.0.0.1; runs until SIGTERM)
"""

import argparse
import asyncio
import hashlib
import signal

READ_BLOCK = 256 * 1024
MAX_LINE = 64 * 1024       # a longer command line is an error: the client is confused
MAX_HEADER = 1024 * 1024   # past this without an empty line the rest counts as body
END = b"\r\n.\r\n"


class Body:
    """One message's DATA stream: splits off the header section, hashes the body."""

    def __init__(self):
        self.header = bytearray()
        self.in_header = True
        self.size = 0
        self.digest = hashlib.sha256()

    def feed(self, data: bytes) -> None:
        if self.in_header:
            self.header += data
            cut = self.header.find(b"\r\n\r\n")
            if cut < 0 and len(self.header) <= MAX_HEADER:
                return
            rest = bytes(self.header[cut + 4:]) if cut >= 0 else bytes(self.header)
            self.in_header, self.header = False, bytearray()
            data = rest
        self.size += len(data)
        self.digest.update(data)


class Session:
    def __init__(self, reader, writer, log):
        self.reader, self.writer, self.log = reader, writer, log
        self.buf = b""

    async def fill(self) -> bool:
        chunk = await self.reader.read(READ_BLOCK)
        self.buf += chunk
        return bool(chunk)

    async def line(self) -> bytes:
        while True:
            cut = self.buf.find(b"\n")
            if cut >= 0:
                line, self.buf = self.buf[:cut + 1], self.buf[cut + 1:]
                return line
            if len(self.buf) > MAX_LINE or not await self.fill():
                return b""

    async def data(self) -> Body:
        """Reads DATA content up to CRLF.CRLF; what follows stays in self.buf."""
        body = Body()
        # The CRLF that ended the DATA command line counts as the first one of the
        # terminator, so an empty message (".\r\n" at once) ends too. `skip` is how many
        # bytes at the start of `pending` are that stand-in and no content.
        pending, skip = b"\r\n" + self.buf, 2
        self.buf = b""
        while True:
            end = pending.find(END)
            if end >= 0:
                body.feed(pending[skip:end + 2])
                self.buf = pending[end + len(END):]
                return body
            # The last 4 bytes may start the terminator: keep them for the next block.
            cut = max(len(pending) - (len(END) - 1), 0)
            if cut > skip:
                body.feed(pending[skip:cut])
            skip = max(skip - cut, 0)
            chunk = await self.reader.read(READ_BLOCK)
            if not chunk:
                raise ConnectionError("client closed the connection inside DATA")
            pending = pending[cut:] + chunk

    async def run(self) -> None:
        w = self.writer
        w.write(b"220 sink.bench ESMTP\r\n")
        while True:
            await w.drain()
            line = await self.line()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                w.write(b"250 sink.bench\r\n")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                w.write(b"250 2.0.0 Ok\r\n")
            elif verb == b"DATA":
                w.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                await w.drain()
                body = await self.data()
                self.log.write(f"{body.size} {body.digest.hexdigest()}\n")
                self.log.flush()
                w.write(b"250 2.0.0 Ok: queued\r\n")
            elif verb == b"QUIT":
                w.write(b"221 2.0.0 Bye\r\n")
                await w.drain()
                return
            else:
                w.write(b"502 5.5.2 Command not recognized\r\n")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    log = open(args.log, "a", encoding="ascii")

    async def serve(reader, writer):
        try:
            await Session(reader, writer, log).run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", args.port, backlog=256)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())

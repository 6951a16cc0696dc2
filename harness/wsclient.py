"""A small asyncio websocket client (RFC 6455, client side), for tests and the benchmark.

Small on purpose: thousands of these must fit in one process next to the servers being
measured. One reader task per socket puts each text message, with the monotonic time it
arrived, on a queue, or hands it to `on_message` when one is given (the benchmark).
Pings are answered; a close frame or a dropped connection ends the reader and sets
`close_code` (1006 when the connection dropped without a close frame).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import struct
import time
from collections.abc import Callable, Iterable

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ABNORMAL_CLOSE = 1006


class HandshakeRefused(Exception):
    """The server answered the upgrade with something other than 101."""

    def __init__(self, status: int, head: str) -> None:
        super().__init__(f"websocket upgrade refused with HTTP {status}")
        self.status = status
        self.head = head


class ConnectionClosed(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"websocket closed ({code})")
        self.code = code


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked, unfragmented client frame."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    mask = os.urandom(4)
    if payload:
        # XOR with the repeated mask, done on big integers (fast enough in pure Python).
        repeated = (mask * (size // 4 + 1))[:size]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
            size, "big"
        )
    else:
        masked = b""
    return head + mask + masked


class WebSocket:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        on_message: Callable[[str, float], None] | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_message = on_message
        self.queue: asyncio.Queue[tuple[str, float] | None] = asyncio.Queue()
        self.close_code: int | None = None
        self.closed = asyncio.get_running_loop().create_future()
        self._task = asyncio.ensure_future(self._read_loop())

    # --- connecting -------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        *,
        host: str,
        port: int,
        path: str,
        headers: Iterable[tuple[str, str]] = (),
        on_message: Callable[[str, float], None] | None = None,
        timeout: float = 10.0,
    ) -> WebSocket:
        """Open the connection and complete the upgrade. `headers` typically carry Host,
        Origin and Cookie, as a browser behind the proxy would send them."""
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            lines = [
                f"GET {path} HTTP/1.1",
                "Upgrade: websocket",
                "Connection: Upgrade",
                f"Sec-WebSocket-Key: {key}",
                "Sec-WebSocket-Version: 13",
            ]
            given = {name.lower() for name, _ in headers}
            if "host" not in given:
                lines.append(f"Host: {host}:{port}")
            lines += [f"{name}: {value}" for name, value in headers]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)).decode(
                "latin-1"
            )
            status_line, *header_lines = head.split("\r\n")
            parts = status_line.split(" ", 2)
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            if status != 101:
                raise HandshakeRefused(status, head)
            expected = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
            answer = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in header_lines if line)
            }
            if answer.get("sec-websocket-accept") != expected:
                raise HandshakeRefused(status, head)
        except BaseException:
            writer.close()
            raise
        return cls(reader, writer, on_message=on_message)

    # --- sending ----------------------------------------------------------------------------

    async def send(self, text: str) -> None:
        if self.close_code is not None:
            raise ConnectionClosed(self.close_code)
        self._writer.write(_frame(0x1, text.encode()))
        await self._writer.drain()

    async def close(self, code: int = 1000) -> None:
        """Send a close frame, then drop the connection (we do not wait for the echo)."""
        if self.close_code is None:
            with contextlib.suppress(Exception):
                self._writer.write(_frame(0x8, struct.pack("!H", code)))
                await self._writer.drain()
        self.abort()
        with contextlib.suppress(BaseException):
            await self._task

    def abort(self) -> None:
        self._finish(self.close_code or ABNORMAL_CLOSE)
        self._writer.close()

    # --- receiving --------------------------------------------------------------------------

    async def receive(self, *, timeout: float) -> str:
        """The next text message; ConnectionClosed when the socket closed first."""
        item = await asyncio.wait_for(self.queue.get(), timeout)
        if item is None:
            self.queue.put_nowait(None)  # keep telling later callers
            raise ConnectionClosed(self.close_code or ABNORMAL_CLOSE)
        return item[0]

    async def receive_until(self, predicate: Callable[[str], bool], *, timeout: float) -> str:
        """Skip messages until one satisfies `predicate` (all within `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            text = await self.receive(timeout=max(0.0, deadline - time.monotonic()))
            if predicate(text):
                return text

    async def wait_closed(self, *, timeout: float) -> int:
        return await asyncio.wait_for(asyncio.shield(self.closed), timeout)

    def _finish(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
        if not self.closed.done():
            self.closed.set_result(self.close_code)
            self.queue.put_nowait(None)

    async def _read_loop(self) -> None:
        reader = self._reader
        fragments: list[bytes] = []
        message_opcode = 0x1
        try:
            while True:
                b0, b1 = await reader.readexactly(2)
                opcode, size = b0 & 0x0F, b1 & 0x7F
                if size == 126:
                    (size,) = struct.unpack("!H", await reader.readexactly(2))
                elif size == 127:
                    (size,) = struct.unpack("!Q", await reader.readexactly(8))
                if b1 & 0x80:  # servers must not mask, but be lenient
                    await reader.readexactly(4)
                payload = await reader.readexactly(size) if size else b""
                if opcode == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    with contextlib.suppress(Exception):
                        self._writer.write(_frame(0x8, payload[:2]))
                    self._finish(code)
                    return
                if opcode == 0x9:
                    self._writer.write(_frame(0xA, payload))
                    continue
                if opcode == 0xA:
                    continue
                if opcode:
                    message_opcode = opcode
                fragments.append(payload)
                if not b0 & 0x80:
                    continue  # more fragments follow
                data, fragments = b"".join(fragments), []
                if message_opcode == 0x2:
                    continue  # the desktop sends text only
                text = data.decode("utf-8", "replace")
                at = time.monotonic()
                if self._on_message is not None:
                    self._on_message(text, at)
                else:
                    self.queue.put_nowait((text, at))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            self._finish(ABNORMAL_CLOSE)
        finally:
            self._finish(self.close_code or ABNORMAL_CLOSE)
            self._writer.close()

"""What daphne answers to a request it will not read: a 4xx that says why, not a hang-up.

Daphne reads HTTP with Twisted, which reads the request line and each header line up to
16 KiB (`LineReceiver.MAX_LENGTH`) and past that drops the connection without a word: a
60,000-character search typed into the dial box looked like the server had gone away. With
this, such a request gets `414 URI Too Long` (the request line) or `431 Request Header
Fields Too Large` (a header) and the connection is closed, as Twisted already does for the
other requests it cannot read (`400 Bad Request`). Behind nginx the proxy refuses them
first (`large_client_header_buffers`) with a 414 or 400 of its own.
"""

from __future__ import annotations

from twisted.web import http

_ANSWERS = {
    True: (414, b"URI Too Long", b"The address is too long (16 KiB at most).\n"),
    False: (431, b"Request Header Fields Too Large", b"A header is too long (16 KiB at most).\n"),
}


def _refuse_overlong_line(self: http.HTTPChannel, line: bytes) -> None:
    if self.transport is None or self.transport.disconnecting:
        return  # already answered: the rest of the line is still arriving
    # Twisted's own flag: still reading the request line (name-mangled; absent -> header).
    on_request_line = bool(getattr(self, "_HTTPChannel__first_line", 0))
    status, reason, body = _ANSWERS[on_request_line]
    head = (
        b"HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (status, reason, len(body))
    )
    self.transport.write(head + body)
    self.loseConnection()


def answer_overlong_lines() -> None:
    """Install the answer on Twisted's HTTP channel (idempotent)."""
    http.HTTPChannel.lineLengthExceeded = _refuse_overlong_line

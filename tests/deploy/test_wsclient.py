"""The deployment harness's websocket client builds frames a server accepts (RFC 6455)."""

from __future__ import annotations

import struct

import pytest

from harness.wsclient import _frame


def _unmask(frame: bytes) -> tuple[int, bytes]:
    opcode, size = frame[0] & 0x0F, frame[1] & 0x7F
    at = 2
    if size == 126:
        (size,) = struct.unpack("!H", frame[2:4])
        at = 4
    elif size == 127:
        (size,) = struct.unpack("!Q", frame[2:10])
        at = 10
    assert frame[1] & 0x80, "client frames must be masked"
    mask, payload = frame[at : at + 4], frame[at + 4 :]
    assert len(payload) == size
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536])
def test_client_frames_are_masked_and_carry_the_payload(size):
    payload = bytes(i % 251 for i in range(size))
    assert _unmask(_frame(0x1, payload)) == (0x1, payload)

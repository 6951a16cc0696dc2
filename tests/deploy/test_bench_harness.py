"""The benchmark's own parts that can be checked without running it: percentiles, the
websocket client's frames, and the report's verdicts against the targets."""

from __future__ import annotations

import math
import struct

import pytest

from bench.report import markdown, verdicts
from bench.stats import percentile, summary
from bench.wsclient import _frame


def test_percentiles_use_the_nearest_rank():
    samples = list(range(1, 101))
    assert percentile(samples, 50) == 50
    assert percentile(samples, 99) == 99
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    assert summary([3.0, 1.0, 2.0])["max"] == 3.0


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


def _results(*, push_p99: float, echo_p99: float, webhook: float, held: int) -> dict:
    def latency(p99: float) -> dict:
        return {"n": 1000, "p50": p99 / 3, "p95": p99 / 2, "p99": p99, "max": p99 * 2}

    return {
        "machine": {"cpus": 2, "cpu_model": "test", "memory": "1 GB", "python": "3.11"},
        "latency": [
            {
                "layer": "redis",
                "processes": 2,
                "sockets": 1000,
                "push": latency(push_p99) | {"lost": 0, "errors": 0, "rate": 100.0},
                "echo": latency(echo_p99) | {"lost": 0, "errors": 0, "rate": 100.0},
            }
        ],
        "ingestion": {
            "layer": "redis",
            "concurrency": 8,
            "desktops_open": 200,
            "webhook": {
                "per_second": webhook,
                "seconds": 30,
                "ok": 100,
                "errors": 0,
                "lost": 0,
                "latency": latency(10),
            },
            "bare": {
                "per_second": 400.0,
                "seconds": 10,
                "ok": 100,
                "errors": 0,
                "latency": latency(5),
            },
        },
        "capacity": {
            "held": held,
            "kb_per_socket": 20.0,
            "layer": "redis",
            "points": [{"sockets": 20, "rss_kb": 90_000}, {"sockets": held, "rss_kb": 130_000}],
            "heartbeat_ms": latency(5),
        },
    }


def test_targets_met_are_reported_as_met():
    rows = verdicts(_results(push_p99=30, echo_p99=25, webhook=300, held=2500))
    assert [ok for *_, ok in rows] == [True, True, True]


def test_each_missed_target_is_reported_as_missed():
    rows = verdicts(_results(push_p99=60, echo_p99=20, webhook=150, held=1500))
    assert [ok for *_, ok in rows] == [False, False, False]
    text = markdown(_results(push_p99=60, echo_p99=20, webhook=150, held=1500), chart=None)
    assert text.count("**missed**") == 3
    assert "| redis | 2 | 1,000 |" in text

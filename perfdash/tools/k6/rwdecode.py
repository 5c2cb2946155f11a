"""Prometheus remote-write 1.0 bodies, decoded without protoc or a compression library.

A body is a snappy *block* (not framed) holding a protobuf `prometheus.WriteRequest`. Only the
fields perfdash reads are decoded: every time series' labels, float samples and native
histograms; exemplars and metadata are skipped by wire type, so a sender that adds fields does
not break the reader. Field numbers are those of prometheus/prompb/types.proto and remote.proto.

Both decoders are pure Python because the bodies are small (k6 sends one a second, a few KB per
hundred series) and a compiled dependency would be the only one perfdash has for this.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field


class DecodeError(ValueError):
    """A body that is not a snappy block holding a WriteRequest."""


def snappy_decompress(data: bytes) -> bytes:
    """Decodes one snappy block (github.com/google/snappy format_description.txt)."""
    n, pos = _varint(data, 0)
    out = bytearray()
    end = len(data)
    while pos < end:
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                length = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            length += 1
            if pos + length > end:
                raise DecodeError("snappy literal runs past the end of the body")
            out += data[pos:pos + length]
            pos += length
            continue
        if kind == 1:
            length = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        elif kind == 2:
            length = 1 + (tag >> 2)
            offset = int.from_bytes(data[pos:pos + 2], "little")
            pos += 2
        else:
            length = 1 + (tag >> 2)
            offset = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        if offset == 0 or offset > len(out):
            raise DecodeError("snappy copy points before the start of the output")
        start = len(out) - offset
        if offset >= length:
            out += out[start:start + length]
        else:  # an overlapping copy repeats the last `offset` bytes
            chunk = bytes(out[start:])
            out += (chunk * (length // offset + 1))[:length]
    if len(out) != n:
        raise DecodeError(f"snappy block decoded to {len(out)} bytes, its header says {n}")
    return bytes(out)


@dataclass
class NativeHistogram:
    """One cumulative native histogram as sent: bucket index -> count (absolute, not deltas).

    Bucket i of schema s holds observations in (base**(i-1), base**i], base = 2**(2**-s); the zero
    bucket holds those with |v| <= zero_threshold."""

    count: float = 0.0
    sum: float = 0.0
    schema: int = 0
    zero_threshold: float = 0.0
    zero_count: float = 0.0
    positive: dict[int, float] = field(default_factory=dict)
    negative: dict[int, float] = field(default_factory=dict)
    timestamp_ms: int = 0


@dataclass
class Series:
    labels: dict[str, str]
    samples: list[tuple[int, float]]  # (timestamp ms, value)
    histograms: list[NativeHistogram]


def decode_write_request(body: bytes) -> list[Series]:
    """The time series of a snappy-compressed remote-write body."""
    try:
        raw = snappy_decompress(body)
        return [_series(v) for f, v in _fields(raw) if f == 1 and isinstance(v, bytes)]
    except (IndexError, struct.error) as exc:
        raise DecodeError(f"truncated remote-write body ({exc})") from exc


def _series(buf: bytes) -> Series:
    labels: dict[str, str] = {}
    samples: list[tuple[int, float]] = []
    histograms: list[NativeHistogram] = []
    for f, v in _fields(buf):
        if f == 1 and isinstance(v, bytes):
            name = value = ""
            for lf, lv in _fields(v):
                if lf == 1 and isinstance(lv, bytes):
                    name = lv.decode("utf-8", "replace")
                elif lf == 2 and isinstance(lv, bytes):
                    value = lv.decode("utf-8", "replace")
            labels[name] = value
        elif f == 2 and isinstance(v, bytes):
            ts, val = 0, 0.0
            for sf, sv in _fields(v):
                if sf == 1 and isinstance(sv, bytes):
                    val = struct.unpack("<d", sv)[0]
                elif sf == 2 and isinstance(sv, int):
                    ts = _int64(sv)
            samples.append((ts, val))
        elif f == 4 and isinstance(v, bytes):
            histograms.append(_histogram(v))
    return Series(labels, samples, histograms)


def _histogram(buf: bytes) -> NativeHistogram:
    h = NativeHistogram()
    spans: dict[int, list[tuple[int, int]]] = {8: [], 11: []}
    deltas: dict[int, list[int]] = {9: [], 12: []}
    floats: dict[int, list[float]] = {10: [], 13: []}
    for f, v in _fields(buf):
        if f in (1, 6) and isinstance(v, int):
            setattr(h, "count" if f == 1 else "zero_count", float(v))
        elif f in (2, 3, 5, 7) and isinstance(v, bytes):
            name = {2: "count", 3: "sum", 5: "zero_threshold", 7: "zero_count"}[f]
            setattr(h, name, struct.unpack("<d", v)[0])
        elif f == 4 and isinstance(v, int):
            h.schema = _zigzag(v)
        elif f in spans and isinstance(v, bytes):
            offset = length = 0
            for bf, bv in _fields(v):
                if bf == 1 and isinstance(bv, int):
                    offset = _zigzag(bv)
                elif bf == 2 and isinstance(bv, int):
                    length = bv
            spans[f].append((offset, length))
        elif f in deltas:
            deltas[f].extend(_zigzag(x) for x in _packed_varints(v))
        elif f in floats and isinstance(v, bytes):
            floats[f].extend(struct.unpack(f"<{len(v) // 8}d", v))
        elif f == 15 and isinstance(v, int):
            h.timestamp_ms = _int64(v)
    h.negative = _buckets(spans[8], deltas[9], floats[10])
    h.positive = _buckets(spans[11], deltas[12], floats[13])
    return h


def _buckets(spans: list[tuple[int, int]], deltas: list[int], counts: list[float]) -> dict[int, float]:
    """Absolute counts by bucket index: spans' offsets are gaps after the previous span, integer
    counts come as deltas from the previous bucket, float counts as they are."""
    values: list[float] = list(counts)
    if not values:
        running = 0
        for d in deltas:
            running += d
            values.append(float(running))
    out: dict[int, float] = {}
    index, k = 0, 0
    for offset, length in spans:
        index += offset
        for _ in range(length):
            if k < len(values) and values[k]:
                out[index] = values[k]
            index += 1
            k += 1
    return out


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs: an int for varints, bytes for fixed64/32 and length-delimited."""
    out: list[tuple[int, int | bytes]] = []
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, value))
        elif wire == 1:
            out.append((number, buf[pos:pos + 8]))
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise DecodeError("a protobuf field runs past the end of its message")
            out.append((number, buf[pos:pos + length]))
            pos += length
        elif wire == 5:
            out.append((number, buf[pos:pos + 4]))
            pos += 4
        else:
            raise DecodeError(f"protobuf wire type {wire} is not one remote-write uses")
    return out


def _packed_varints(v: int | bytes) -> list[int]:
    if isinstance(v, int):  # an unpacked repeated field: one element per occurrence
        return [v]
    values, pos = [], 0
    while pos < len(v):
        x, pos = _varint(v, pos)
        values.append(x)
    return values


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise DecodeError("a protobuf varint is longer than 10 bytes")


def _zigzag(v: int) -> int:
    return (v >> 1) ^ -(v & 1)


def _int64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v

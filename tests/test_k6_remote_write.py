"""The remote-write receiver without k6: snappy blocks and WriteRequests built here byte by byte,
native-histogram quantiles against exact ones, and pushes over loopback HTTP."""

from __future__ import annotations

import http.client
import math
import random
import struct
from pathlib import Path

import pytest

from perfdash.events import Bus, LatencySampled
from perfdash.settings import SettingsError, load_settings
from perfdash.tools.base import LaunchContext, Target, ToolPlan
from perfdash.tools.k6 import K6Tool
from perfdash.tools.k6.latency import Followers
from perfdash.tools.k6.nativehist import Buckets, difference, downscale, relative_width
from perfdash.tools.k6.remote_write import (
    PATH,
    PushDiffer,
    RemoteWriteReceiver,
    remote_write_env,
    remote_write_port,
)
from perfdash.tools.k6.rwdecode import (
    DecodeError,
    NativeHistogram,
    decode_write_request,
    snappy_decompress,
)

# --- a minimal encoder, the mirror image of the reader ------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _zz(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _vfield(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _dfield(number: int, value: float) -> bytes:
    return _varint(number << 3 | 1) + struct.pack("<d", value)


def _snappy_literals(raw: bytes) -> bytes:
    """A valid snappy block made of literals only (61: a two-byte length follows the tag)."""
    out = bytearray(_varint(len(raw)))
    for i in range(0, len(raw), 65536):
        chunk = raw[i:i + 65536]
        out += bytes([61 << 2]) + (len(chunk) - 1).to_bytes(2, "little") + chunk
    return bytes(out)


def _labels(labels: dict[str, str]) -> bytes:
    return b"".join(_field(1, _field(1, k.encode()) + _field(2, v.encode()))
                    for k, v in labels.items())


def _histogram(schema: int, buckets: dict[int, int], total_sum: float, ts: int,
               zero: int = 0) -> bytes:
    """A native histogram message with spans/deltas as Prometheus' client encodes them."""
    body = _vfield(1, sum(buckets.values()) + zero) + _dfield(3, total_sum)
    body += _vfield(4, _zz(schema)) + _dfield(5, 1e-9) + _vfield(6, zero)
    indexes = sorted(buckets)
    spans: list[tuple[int, int]] = []
    prev_end = 0
    for i in indexes:
        if spans and i == prev_end:
            spans[-1] = (spans[-1][0], spans[-1][1] + 1)
        else:
            spans.append((i - prev_end if spans else i, 1))
        prev_end = i + 1
    for offset, length in spans:
        body += _field(11, _vfield(1, _zz(offset) & 0xFFFFFFFF) + _vfield(2, length))
    deltas, prev = [], 0
    for i in indexes:
        deltas.append(buckets[i] - prev)
        prev = buckets[i]
    body += _field(12, b"".join(_varint(_zz(d) & 0xFFFFFFFFFFFFFFFF) for d in deltas))
    body += _vfield(15, ts)
    return body


def _write_request(*series: bytes) -> bytes:
    return _snappy_literals(b"".join(_field(1, s) for s in series))


def _duration_series(tags: dict[str, str], schema: int, buckets: dict[int, int], total: float,
                     ts: int) -> bytes:
    return (_labels({"__name__": "k6_http_req_duration_seconds", **tags})
            + _field(4, _histogram(schema, buckets, total, ts)))


def _reqs_series(tags: dict[str, str], value: float, ts: int) -> bytes:
    return (_labels({"__name__": "k6_http_reqs_total", **tags})
            + _field(2, _dfield(1, value) + _vfield(2, ts)))


def _bucket_of(value: float, schema: int) -> int:
    return math.ceil(math.log2(value) * 2 ** schema)


def _exact(values: list[float], q: float) -> float:
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


# --- snappy ----------------------------------------------------------------------------------------


def test_snappy_copies_including_overlapping_ones() -> None:
    # "abc" literal, a one-byte-offset copy of 9 overlapping itself, a two-byte-offset copy of 4
    block = bytes([18, (3 - 1) << 2]) + b"abc" + bytes([((9 - 4) << 2) | 1, 3])
    block += bytes([((6 - 1) << 2) | 2]) + (12).to_bytes(2, "little")
    assert snappy_decompress(block) == b"abcabcabcabc" + b"abcabc"


def test_snappy_long_literals_round_trip() -> None:
    raw = bytes(random.Random(1).randrange(256) for _ in range(150_000))
    assert snappy_decompress(_snappy_literals(raw)) == raw


@pytest.mark.parametrize("block", [
    bytes([5, 0]) + b"a",                      # header says 5 bytes, one decoded
    bytes([4, 0]) + b"a" + bytes([1, 9]),      # copy from before the start
    bytes([9, (8 - 1) << 2]) + b"abc",         # literal past the end
])
def test_snappy_refuses_broken_blocks(block: bytes) -> None:
    with pytest.raises(DecodeError):
        snappy_decompress(block)


# --- WriteRequest ----------------------------------------------------------------------------------


def test_write_request_labels_samples_and_histogram_buckets() -> None:
    buckets = {-60: 3, -59: 5, -55: 1, 10: 2}  # two gaps: three spans, one negative offset
    body = _write_request(
        _duration_series({"status": "200"}, 3, buckets, 0.5, 1_700_000_000_123),
        _reqs_series({"status": "200"}, 11.0, 1_700_000_000_124))
    series = decode_write_request(body)
    assert [s.labels for s in series] == [
        {"__name__": "k6_http_req_duration_seconds", "status": "200"},
        {"__name__": "k6_http_reqs_total", "status": "200"}]
    h = series[0].histograms[0]
    assert (h.schema, h.count, h.sum, h.zero_threshold, h.timestamp_ms) == (
        3, 11.0, 0.5, 1e-9, 1_700_000_000_123)
    assert h.positive == {i: float(c) for i, c in buckets.items()}
    assert series[1].samples == [(1_700_000_000_124, 11.0)]


def test_a_body_that_is_not_remote_write_is_refused() -> None:
    with pytest.raises(DecodeError):
        decode_write_request(_snappy_literals(b"\x0f\xff\xff"))  # wire type 7


# --- quantiles -------------------------------------------------------------------------------------


@pytest.mark.parametrize("schema", [3, 5])
def test_quantiles_stay_within_a_bucket_of_exact(schema: int) -> None:
    rng = random.Random(schema)
    values = [rng.lognormvariate(math.log(0.004), 0.6) for _ in range(3000)]
    counts: dict[int, float] = {}
    for v in values:
        counts[_bucket_of(v, schema)] = counts.get(_bucket_of(v, schema), 0.0) + 1
    b = Buckets(schema, 1e-9, 0.0, counts, len(values), sum(values))
    for q in (0.5, 0.95, 0.99):
        got, want = b.quantile(q), _exact(values, q)
        assert got is not None
        assert abs(got / want - 1) < relative_width(schema), (q, got, want)
    assert Buckets(3).quantile(0.95) is None


def test_difference_leaves_the_interval_and_a_reset_counts_from_zero() -> None:
    before = NativeHistogram(count=5, sum=1.0, schema=3, positive={1: 2, 2: 3})
    now = NativeHistogram(count=9, sum=2.0, schema=3, positive={1: 2, 2: 6, 4: 1})
    d = difference(now, before)
    assert (d.positive, d.count, d.sum) == ({2: 3.0, 4: 1.0}, 4, 1.0)
    reset = NativeHistogram(count=2, sum=0.1, schema=3, positive={7: 2})
    assert difference(reset, now).positive == {7: 2}


def test_downscale_merges_buckets_into_their_coarser_parent() -> None:
    # at schema 1 bucket 1 is (2**0, 2**0.5], bucket 2 (2**0.5, 2**1]: both fall in schema 0's 1
    assert downscale({1: 1.0, 2: 2.0, 3: 4.0, 0: 8.0, -1: 16.0}, 1, 0) == {
        1: 3.0, 2: 4.0, 0: 24.0}
    merged = Buckets(1, positive={1: 1.0})
    merged.add(Buckets(0, positive={1: 2.0}))
    assert (merged.schema, merged.positive) == (0, {1: 3.0})


# --- pushes ----------------------------------------------------------------------------------------


def _push(t_ms: int, ok: dict[int, int], failed_reqs: float, ok_reqs: float) -> bytes:
    return _write_request(
        _duration_series({"status": "200", "expected_response": "true"}, 3, ok,
                         0.002 * sum(ok.values()), t_ms),
        _duration_series({"status": "500", "expected_response": "false"}, 3, {-70: 1},
                         0.001, t_ms),
        _reqs_series({"status": "200", "expected_response": "true"}, ok_reqs, t_ms),
        _reqs_series({"status": "500", "expected_response": "false"}, failed_reqs, t_ms))


def test_push_differ_publishes_each_interval_alone() -> None:
    differ = PushDiffer()
    first = differ.feed(decode_write_request(_push(1_000_000, {-72: 100}, 1, 100)))
    assert first is not None
    assert first.rps is None
    # the next second: 300 more requests in bucket -64 (~3.9 ms), 1 more failure, 301 more ended
    second = differ.feed(decode_write_request(_push(1_002_000, {-72: 100, -64: 300}, 2, 400)))
    assert second is not None
    assert second.t == 1_002.0
    assert second.rps == pytest.approx((300 + 1) / 2.0)
    assert second.error_rate == pytest.approx(1 / 301)
    assert second.mean_ms == pytest.approx(2.0)
    lo, hi = 2 ** (-65 / 8) * 1000, 2 ** (-64 / 8) * 1000
    assert second.p95_ms is not None
    assert lo < second.p95_ms <= hi


def test_receiver_publishes_pushes_posted_over_loopback() -> None:
    bus = Bus()
    seen: list[LatencySampled] = []
    bus.listen(lambda e: seen.append(e) if isinstance(e, LatencySampled) else None)
    receiver = RemoteWriteReceiver(bus, keep=True)
    receiver.start()
    try:
        assert remote_write_port(remote_write_env(receiver.port)) == receiver.port
        conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
        statuses = []
        for body in (_push(1_000_000, {-72: 10}, 0, 10), b"not snappy at all",
                     _push(1_001_000, {-72: 30}, 0, 30)):
            conn.request("POST", PATH, body, {"Content-Encoding": "snappy"})
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
        conn.close()
    finally:
        receiver.stop()
    assert statuses == [204, 400, 204]
    assert (receiver.samples, receiver.rejected) == (2, 1)
    assert [s.rps for s in seen] == [None, pytest.approx(20.0)]
    assert receiver.kept == seen


# --- the profile setting and the tool's hook -------------------------------------------------------


def _profiles(tmp_path: Path, k6_keys: str) -> Path:
    (tmp_path / "load.js").write_text("export default function () {}\n")
    (tmp_path / "profiles.toml").write_text(
        '[profiles.p.k6]\nscript = "load.js"\n' + k6_keys
        + '\n[environments.local]\nkind = "external"\nbase_url = "http://127.0.0.1:9"\n')
    return tmp_path


@pytest.mark.parametrize(("keys", "source", "dashboard"), [
    ("", "mean", False),
    ("web_dashboard = true", "dashboard", True),
    ('latency_source = "dashboard"', "dashboard", True),
    ('latency_source = "remote-write"', "remote-write", False),
])
def test_latency_source_and_the_older_web_dashboard_key(tmp_path: Path, keys: str, source: str,
                                                        dashboard: bool) -> None:
    profile = load_settings(_profiles(tmp_path, keys)).profile("p")
    assert (profile.k6_latency_source, profile.k6_web_dashboard) == (source, dashboard)


@pytest.mark.parametrize(("keys", "match"), [
    ('latency_source = "prometheus"', r"profiles.p.k6.*latency_source.*unknown source "
                                      r"'prometheus'.*\"mean\", \"dashboard\", \"remote-write\""),
    ('web_dashboard = true\nlatency_source = "remote-write"',
     r"\"remote-write\" contradicts web_dashboard = true.*remove web_dashboard"),
])
def test_latency_source_mistakes_name_the_fix(tmp_path: Path, keys: str, match: str) -> None:
    with pytest.raises(SettingsError, match=match):
        load_settings(_profiles(tmp_path, keys))


def test_remote_write_source_adds_the_output_and_a_receiver_follows_it(tmp_path: Path) -> None:
    settings = load_settings(_profiles(tmp_path, 'latency_source = "remote-write"'))
    ctx = LaunchContext(Path("/usr/bin/k6"), settings.profile("p"), settings.environment("local"),
                        tmp_path, tmp_path, Target("http://127.0.0.1:9", None, None),
                        ToolPlan(10.0))
    tool = K6Tool()
    request = tool.request(ctx)
    assert request.argv[-3:] == ["-o", "experimental-prometheus-rw", str(tmp_path / "load.js")]
    assert "--no-usage-report" in request.argv
    port = remote_write_port(request.env)
    assert port is not None
    assert request.env["K6_PROMETHEUS_RW_PUSH_INTERVAL"] == "1s"
    assert "K6_WEB_DASHBOARD" not in request.env
    follower = tool.progress(Bus(), tmp_path, ctx.profile, 10.0, request)
    assert isinstance(follower, Followers)
    receivers = [m for m in follower.members if isinstance(m, RemoteWriteReceiver)]
    assert [r.port for r in receivers] == [port]
    follower.start()
    follower.stop()

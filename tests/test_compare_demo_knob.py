"""The demo backend's PERFDASH_DEMO_SLOW knob, which gives bench/bench_compare.py a slowdown of known
size: parsing, and a route made slower by the share or the fixed delay it names."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from perfdash.demo.shop import DemoShop
from perfdash.demo.slowdown import Slowdown, parse_slowdowns
from perfdash.secret import Secret


def test_parse_share_and_fixed_delay() -> None:
    assert parse_slowdowns("") == {}
    assert parse_slowdowns("/api/customers/{id}/orders:+20%, /health:+5ms") == {
        "/api/customers/{id}/orders": Slowdown(factor=0.2), "/health": Slowdown(fixed_ms=5.0)}
    assert parse_slowdowns("/api/products:50%")["/api/products"].factor == pytest.approx(0.5)


@pytest.mark.parametrize("bad", ["/api/products", "api:+5%", "/api/products:+fast", "/x:-10%"])
def test_a_bad_spec_is_one_sentence_with_the_fix(bad: str) -> None:
    with pytest.raises(ValueError, match="PERFDASH_DEMO_SLOW: "):
        parse_slowdowns(bad)


def test_a_share_stretches_the_request_and_a_delay_adds_to_it() -> None:
    slow = Slowdown(factor=0.5)
    assert slow.extra_s(0.040) == pytest.approx(0.020)
    assert Slowdown(fixed_ms=15).extra_s(0.040) == pytest.approx(0.015)


async def _elapsed(slowdowns: dict[str, Slowdown]) -> float:
    shop = DemoShop(None, Secret("t"), logging.getLogger("test-knob"),  # type: ignore[arg-type]
                    slowdowns)
    app = web.Application(middlewares=[shop._access_log])

    async def item(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)
        return web.json_response({"ok": True})

    app.router.add_get(r"/api/items/{id:\d+}", item)
    async with TestClient(TestServer(app)) as client:
        started = time.perf_counter()
        response = await client.get("/api/items/7")
        assert response.status == 200
        return time.perf_counter() - started


async def test_the_named_route_is_slowed_by_its_share() -> None:
    plain = await _elapsed({})
    slowed = await _elapsed({"/api/items/{id}": Slowdown(factor=1.0)})
    other = await _elapsed({"/api/other": Slowdown(factor=1.0)})
    assert plain < 0.09
    assert slowed >= 0.1  # 50 ms of work, then as long again
    assert other < 0.09

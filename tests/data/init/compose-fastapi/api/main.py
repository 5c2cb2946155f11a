import logging

from fastapi import FastAPI

log = logging.getLogger("orders")
app = FastAPI()


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/orders/{order_id}")
async def order(order_id: int) -> dict[str, int]:
    log.info("order %s", order_id)
    return {"id": order_id}

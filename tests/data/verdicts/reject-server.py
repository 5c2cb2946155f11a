"""Rejects every Socket.IO handshake, answers HTTP /api/* with 401 and /health with 200."""
import logging
import sys

import socketio
import uvicorn

logging.basicConfig(filename=sys.argv[2], level=logging.INFO,
                    format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("app")
sio = socketio.AsyncServer(async_mode="asgi")

@sio.event
async def connect(sid, environ, auth):
    log.warning("socket handshake rejected: unauthorized")
    raise socketio.exceptions.ConnectionRefusedError("unauthorized")

async def http(scope, receive, send):
    if scope["type"] != "http":
        return
    status = 200 if scope["path"] == "/health" else 401
    body = b"ok" if status == 200 else b'{"error":"unauthorized"}'
    if status != 200:
        log.error("GET %s 401 unauthorized", scope["path"])
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

app = socketio.ASGIApp(sio, other_asgi_app=http)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")

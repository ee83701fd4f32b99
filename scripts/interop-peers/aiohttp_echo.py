#!/usr/bin/env python3
"""Echo server on aiohttp, an interop peer for scripts/interop.

Usage: aiohttp_echo.py PORT

Listens on 127.0.0.1:PORT, sends every text and binary message back with the same type, prints
`ready` once listening. Compression and heartbeats are off; messages are capped at 64 MiB.
The package comes from scripts/.interop/python (scripts/interop installs it).
"""

import os
import sys

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, ".interop", "python")
)

from aiohttp import WSMsgType, web  # noqa: E402


async def echo(request):
    """Echoes each message until the connection ends."""
    ws = web.WebSocketResponse(compress=False, max_msg_size=64 * 1024 * 1024)
    await ws.prepare(request)
    async for message in ws:
        if message.type == WSMsgType.TEXT:
            await ws.send_str(message.data)
        elif message.type == WSMsgType.BINARY:
            await ws.send_bytes(message.data)
    return ws


def main():
    app = web.Application()
    app.router.add_get("/", echo)
    port = int(sys.argv[1])
    web.run_app(app, host="127.0.0.1", port=port, print=lambda *_: print("ready", flush=True))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Echo server on Tornado, an interop peer for scripts/interop.

Usage: tornado_echo.py PORT

Listens on 127.0.0.1:PORT, sends every text and binary message back with the same type, prints
`ready` once listening. Compression is off; messages are capped at 64 MiB. The package comes from
scripts/.interop/python (scripts/interop installs it).
"""

import asyncio
import os
import sys

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, ".interop", "python")
)

import tornado.web  # noqa: E402
import tornado.websocket  # noqa: E402


class Echo(tornado.websocket.WebSocketHandler):
    """Sends each message back: str for text, bytes for binary."""

    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


async def main():
    app = tornado.web.Application(
        [(r"/", Echo)], websocket_max_message_size=64 * 1024 * 1024
    )
    app.listen(int(sys.argv[1]), address="127.0.0.1")
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/env python3
"""Echo server on Python `websockets`, an interop peer for wsspec's tests.

Usage: websockets_echo.py PORT [--deflate]

Listens on 127.0.0.1:PORT, sends every text and binary message back with the
same type and payload, prints `ready` on stdout once listening, and exits with
status 0 on SIGTERM or SIGINT. permessage-deflate is off unless --deflate is
given (then websockets' defaults: it accepts offers and limits both windows to
2^12), messages are capped at 64 MiB, and keepalive pings are off so the server
never sends unsolicited frames. The package comes from scripts/.peers/python (run scripts/install-peers).
"""

import asyncio
import os
import signal
import sys

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, ".peers", "python")
)

from websockets.asyncio.server import serve  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402


async def echo(websocket):
    """Echoes each message (str for text, bytes for binary) until the connection ends."""
    try:
        async for message in websocket:
            await websocket.send(message)
    except ConnectionClosed:
        pass


async def main(port, deflate):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with serve(
        echo,
        "127.0.0.1",
        port,
        compression="deflate" if deflate else None,
        # 64 MiB: section 9 sends up to 16 MiB, and with no limit at all (None) a frame that declares
        # 2^63 bytes would be waited for, which RFC 6455 §10.4 rules out (case 15.1).
        max_size=64 * 1024 * 1024,
        ping_interval=None,
    ):
        print("ready", flush=True)
        await stop


def parse_args(argv):
    args = argv[1:]
    deflate = "--deflate" in args
    args = [arg for arg in args if arg != "--deflate"]
    if len(args) != 1 or not args[0].isdigit() or int(args[0]) > 65535:
        print("usage: websockets_echo.py PORT [--deflate]", file=sys.stderr)
        sys.exit(2)
    return int(args[0]), deflate


if __name__ == "__main__":
    asyncio.run(main(*parse_args(sys.argv)))

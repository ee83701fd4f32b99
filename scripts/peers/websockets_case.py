#!/usr/bin/env python3
"""One case of `wsspec client --exec`, run by a Python `websockets` client.

Usage: websockets_case.py CASE_URL

Connects to CASE_URL (ws://HOST:PORT/runCase?case=N&agent=A), echoes every text and
binary message until the connection closes, then reports what the application saw
(close code, reason, and whether a close frame arrived) to /reportObservation with the
same case and agent, and exits 0. The package comes from scripts/.peers/python (run
scripts/install-peers).
"""

import asyncio
import os
import sys
import urllib.parse

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, ".peers", "python")
)

from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import WebSocketException  # noqa: E402


async def run(url):
    """Echoes one case, then reports its close as the application saw it."""
    code, reason = 1006, ""
    try:
        async with connect(url, max_size=64 * 2**20, compression=None, ping_interval=None) as ws:
            try:
                async for message in ws:
                    await ws.send(message)
            except WebSocketException:
                pass
        code, reason = ws.close_code, ws.close_reason or ""
    except (OSError, WebSocketException, asyncio.TimeoutError):
        pass
    code = 1006 if code is None else code
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update(code=str(code), reason=reason, clean="false" if code == 1006 else "true")
    report = f"{parts.scheme}://{parts.netloc}/reportObservation?{urllib.parse.urlencode(query)}"
    try:
        async with asyncio.timeout(3):
            async with connect(report) as ws:
                await ws.wait_closed()
    except (OSError, WebSocketException, asyncio.TimeoutError):
        pass


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: websockets_case.py CASE_URL")
    asyncio.run(run(sys.argv[1]))

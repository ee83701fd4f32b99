#!/usr/bin/env python3
"""Client driver on Python `websockets`: runs every case of a fuzzing server as an echo peer.

Usage: websockets_client.py [-v] [--deflate] BASE_URL AGENT

BASE_URL is a fuzzing server (`wsspec client`, or Autobahn's fuzzingserver), such as
ws://127.0.0.1:9001. The driver reads the case count from BASE_URL/getCaseCount, then for each
case I opens BASE_URL/runCase?case=I&agent=AGENT and sends every text and binary message back
with the same type and payload until the server closes; websockets answers pings and handles
protocol errors and the close handshake by itself. After each case it reports what the
application saw to BASE_URL/reportObservation (close code and reason from `close_code` and
`close_reason`, which give 1006 for a connection that ended without a close frame; clean when a
close frame was both received and sent), and finally it calls BASE_URL/updateReports.

`/reportObservation` is wsspec's addition to the protocol; a server that leaves it open for 3 s
(Autobahn opens a "direct command" session there) is not asked again. Each case has a 60 s
watchdog. Keepalive pings are off, and messages may be up to 64 MiB; permessage-deflate is off too,
unless --deflate turns on the library's own offer (`permessage-deflate; client_max_window_bits`). The
library's other defaults stay: it refuses a message of more than 4096 fragments with 1009
(WEBSOCKETS_MAX_FRAGMENTS raises that), so Autobahn's 9.3.1-9.3.3 and 9.4.1-9.4.3 fail
against it.

Nothing is printed on stdout. On stderr: one line per case with -v, and a summary at the end.
Exit status: 0 when every case ran, 2 for bad arguments, 3 when the server cannot be used
(getCaseCount or updateReports failed). The package comes from scripts/.peers/python (run
scripts/install-peers).
"""

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from urllib.parse import urlencode, urlsplit, urlunsplit

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, ".peers", "python")
)

from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

CASE_TIMEOUT = 60.0
COMMAND_TIMEOUT = 60.0
REPORT_TIMEOUT = 3.0
ABNORMAL_CLOSURE = 1006

CONNECT_OPTIONS = {
    "compression": None,
    "max_size": 64 * 2**20,
    "ping_interval": None,
    "open_timeout": 10,
    "close_timeout": 2,
}


class Unusable(Exception):
    """The server cannot be used: getCaseCount or updateReports failed."""


class Endpoints:
    """The URLs of a fuzzing server's endpoints, under the base URL's path."""

    def __init__(self, base_url):
        parts = urlsplit(base_url)
        if parts.scheme not in ("ws", "wss") or not parts.netloc:
            raise ValueError(f"expected ws://HOST:PORT or wss://HOST:PORT, got {base_url!r}")
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.prefix = parts.path.rstrip("/")

    def url(self, name, **query):
        return urlunsplit(
            (self.scheme, self.netloc, f"{self.prefix}/{name}", urlencode(query), "")
        )


async def fetch_text(url):
    """Opens url, returns the first message once the server has closed the connection."""
    async with connect(url, **CONNECT_OPTIONS) as ws:
        try:
            text = await ws.recv()
        except ConnectionClosed:
            text = None
        await ws.wait_closed()
        return text


async def visit(url):
    """Opens url and waits until the server closes the connection."""
    async with connect(url, **CONNECT_OPTIONS) as ws:
        await ws.wait_closed()


async def echo(ws):
    """Echoes every message with its type (str is text, bytes binary) until the connection ends."""
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass
    await ws.wait_closed()


async def run_case(url):
    """Runs one case; returns (code, reason, clean) as the application saw them, and whether
    the watchdog ended it."""
    started = time.monotonic()
    try:
        ws = await asyncio.wait_for(connect(url, **CONNECT_OPTIONS), CASE_TIMEOUT)
    except Exception:  # refused, bad handshake, timeout: the connection never opened
        return ABNORMAL_CLOSURE, "", False, False
    remaining = max(0.0, CASE_TIMEOUT - (time.monotonic() - started))
    try:
        await asyncio.wait_for(echo(ws), remaining)
    except asyncio.TimeoutError:
        ws.transport.abort()
        return ABNORMAL_CLOSURE, "", False, True
    protocol = ws.protocol
    clean = protocol.close_rcvd is not None and protocol.close_sent is not None
    code = ws.close_code if ws.close_code is not None else ABNORMAL_CLOSURE
    return int(code), ws.close_reason or "", clean, False


async def report(url):
    """Reports an observation; False when the server left the connection open (no support)."""
    try:
        await asyncio.wait_for(visit(url), REPORT_TIMEOUT)
    except asyncio.TimeoutError:
        return False
    except Exception:  # the endpoint is optional: errors are ignored
        pass
    return True


async def command(coroutine, url):
    try:
        return await asyncio.wait_for(coroutine, COMMAND_TIMEOUT)
    except Exception as err:
        raise Unusable(f"cannot use {url}: {err or type(err).__name__}") from err


async def drive(endpoints, agent, verbose):
    url = endpoints.url("getCaseCount")
    answer = await command(fetch_text(url), url)
    try:
        count = int(answer)
    except (TypeError, ValueError):
        raise Unusable(f"{url} sent {answer!r}, not a case count") from None

    reporting = True
    clean_count = 0
    started = time.monotonic()
    for case in range(1, count + 1):
        case_started = time.monotonic()
        code, reason, clean, timed_out = await run_case(
            endpoints.url("runCase", case=case, agent=agent)
        )
        clean_count += clean
        if reporting:
            reporting = await report(
                endpoints.url(
                    "reportObservation",
                    case=case,
                    agent=agent,
                    code=code,
                    reason=reason,
                    clean="true" if clean else "false",
                )
            )
        if verbose:
            state = "clean" if clean else "not clean"
            late = " (timed out)" if timed_out else ""
            took = time.monotonic() - case_started
            print(f"case {case:>4} {code} {reason!r} {state}{late} in {took:.3f} s", file=sys.stderr)

    url = endpoints.url("updateReports", agent=agent)
    await command(visit(url), url)
    took = time.monotonic() - started
    print(
        f"websockets_client: ran {count} cases as {json.dumps(agent)} in {took:.1f} s: "
        f"{clean_count} closed cleanly, {count - clean_count} not"
        + ("" if reporting else "; the server took no observations"),
        file=sys.stderr,
    )


def main():
    parser = argparse.ArgumentParser(description="Python websockets client driver")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    parser.add_argument("base_url", metavar="BASE_URL")
    parser.add_argument("agent", metavar="AGENT")
    args = parser.parse_args()
    if args.deflate:
        CONNECT_OPTIONS["compression"] = "deflate"
    try:
        endpoints = Endpoints(args.base_url)
    except ValueError as err:
        parser.error(str(err))
    # Failed connections are the point of many cases; websockets need not log them.
    logging.getLogger("websockets").setLevel(logging.CRITICAL)
    try:
        asyncio.run(drive(endpoints, args.agent, args.verbose))
    except Unusable as err:
        print(f"websockets_client: {err}", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()

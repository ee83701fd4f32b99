#!/usr/bin/env node
// Client driver on Node `ws`: runs every case of a fuzzing server as an echo peer.
//
// Usage: ws_client.js [-v] BASE_URL AGENT
//
// BASE_URL is a fuzzing server (`wsspec client`, or Autobahn's fuzzingserver), such as
// ws://127.0.0.1:9001. The driver reads the case count from BASE_URL/getCaseCount, then for each
// case I opens BASE_URL/runCase?case=I&agent=AGENT and sends every text and binary message back
// with the same type and payload until the server closes; `ws` answers pings and handles
// protocol errors and the close handshake by itself. After each case it reports what the
// application saw to BASE_URL/reportObservation: the `code`, `reason` and `wasClean` of the
// close event (wasClean: a close frame was both received and sent; a connection that ended
// without a close frame gives 1006), and finally it calls BASE_URL/updateReports.
//
// `/reportObservation` is wsspec's addition to the protocol; a server that leaves it open for
// 3 s (Autobahn opens a "direct command" session there) is not asked again. Each case has a 60 s
// watchdog. permessage-deflate is off; messages may be up to 256 MiB. The library's other defaults
// stay: it refuses a message of more than 16384 fragments with 1008 (`maxFragments`), so
// Autobahn's 9.3.1, 9.3.2, 9.4.1 and 9.4.2 fail against it.
//
// Nothing is printed on stdout. On stderr: one line per case with -v, and a summary at the end.
// Exit status: 0 when every case ran, 2 for bad arguments, 3 when the server cannot be used
// (getCaseCount or updateReports failed). `ws` is resolved from scripts/peers/node_modules (run
// scripts/install-peers).
'use strict';

const { WebSocket } = require('ws');

const CASE_TIMEOUT_MS = 60_000;
const COMMAND_TIMEOUT_MS = 60_000;
const REPORT_TIMEOUT_MS = 3_000;

const OPTIONS = {
  perMessageDeflate: false,
  maxPayload: 256 * 1024 * 1024,
  handshakeTimeout: 10_000,
};

/** The server cannot be used: getCaseCount or updateReports failed. */
class Unusable extends Error {}

/** The URL of endpoint `name` under the base URL's path, with `query` percent-encoded. */
function endpoint(base, name, query = {}) {
  const url = new URL(base.href);
  url.pathname = `${base.pathname.replace(/\/+$/, '')}/${name}`;
  url.search = new URLSearchParams(query).toString();
  url.hash = '';
  return url.href;
}

/**
 * Opens `url` and settles when the connection has closed, or after `timeoutMs` (the socket is
 * then terminated). `onMessage` gets the socket and each message. Resolves to the close event's
 * fields plus `timedOut`, `opened` and `error` (the first error event's message).
 */
function session(url, timeoutMs, { onMessage } = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, OPTIONS);
    let opened = false;
    let error = null;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ws.terminate();
    }, timeoutMs);
    ws.on('open', () => {
      opened = true;
    });
    if (onMessage) ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
    // Without a listener an 'error' event would end the process; the close event follows it.
    ws.on('error', (err) => {
      error = error || err.message;
    });
    ws.addEventListener('close', (event) => {
      clearTimeout(timer);
      resolve({
        code: event.code,
        reason: event.reason,
        wasClean: event.wasClean,
        timedOut,
        opened,
        error,
      });
    });
  });
}

/** Opens `url` and returns the first message as text, once the server has closed. */
async function fetchText(url) {
  let text = null;
  const end = await session(url, COMMAND_TIMEOUT_MS, {
    onMessage: (ws, data) => {
      if (text === null) text = data.toString();
    },
  });
  if (!end.opened || end.timedOut) {
    throw new Unusable(`cannot use ${url}: ${end.timedOut ? 'timed out' : end.error}`);
  }
  return text;
}

/** Opens `url` and waits until the server closes the connection. */
async function visit(url) {
  const end = await session(url, COMMAND_TIMEOUT_MS);
  if (!end.opened || end.timedOut) {
    throw new Unusable(`cannot use ${url}: ${end.timedOut ? 'timed out' : end.error}`);
  }
}

/** Runs one case as an echo peer; resolves to the close event's fields. */
function runCase(url) {
  return session(url, CASE_TIMEOUT_MS, {
    onMessage: (ws, data, isBinary) => ws.send(data, { binary: isBinary }),
  });
}

/** Reports an observation; false when the server left the connection open (no support). */
async function report(url) {
  const end = await session(url, REPORT_TIMEOUT_MS);
  return !end.timedOut;
}

async function drive(base, agent, verbose) {
  const countUrl = endpoint(base, 'getCaseCount');
  const answer = await fetchText(countUrl);
  const count = Number(answer);
  if (answer === null || !/^\s*\d+\s*$/.test(answer) || !Number.isSafeInteger(count)) {
    throw new Unusable(`${countUrl} sent ${JSON.stringify(answer)}, not a case count`);
  }

  const started = Date.now();
  let reporting = true;
  let cleanCount = 0;
  for (let i = 1; i <= count; i++) {
    const caseStarted = Date.now();
    const case_ = String(i);
    const end = await runCase(endpoint(base, 'runCase', { case: case_, agent }));
    if (end.wasClean) cleanCount++;
    if (reporting) {
      reporting = await report(
        endpoint(base, 'reportObservation', {
          case: case_,
          agent,
          code: String(end.code),
          reason: end.reason,
          clean: String(end.wasClean),
        }),
      );
    }
    if (verbose) {
      const state = end.wasClean ? 'clean' : 'not clean';
      const late = end.timedOut ? ' (timed out)' : '';
      const took = ((Date.now() - caseStarted) / 1000).toFixed(3);
      console.error(`case ${case_.padStart(4)} ${end.code} ${JSON.stringify(end.reason)} ${state}${late} in ${took} s`);
    }
  }

  await visit(endpoint(base, 'updateReports', { agent }));
  const took = ((Date.now() - started) / 1000).toFixed(1);
  console.error(
    `ws_client: ran ${count} cases as ${JSON.stringify(agent)} in ${took} s: ` +
      `${cleanCount} closed cleanly, ${count - cleanCount} not` +
      (reporting ? '' : '; the server took no observations'),
  );
}

function usage(message) {
  if (message) console.error(`ws_client: ${message}`);
  console.error('usage: ws_client.js [-v] BASE_URL AGENT');
  process.exit(2);
}

function main() {
  const args = process.argv.slice(2);
  const verbose = args[0] === '-v' || args[0] === '--verbose';
  if (verbose) args.shift();
  if (args.length !== 2) usage();
  let base;
  try {
    base = new URL(args[0]);
  } catch {
    usage(`not a URL: ${args[0]}`);
  }
  if (base.protocol !== 'ws:' && base.protocol !== 'wss:') {
    usage(`expected ws://HOST:PORT or wss://HOST:PORT, got ${args[0]}`);
  }
  drive(base, args[1], verbose).catch((err) => {
    console.error(`ws_client: ${err.message}`);
    process.exit(err instanceof Unusable ? 3 : 1);
  });
}

main();

#!/usr/bin/env node
// Echo server on Node `ws`, an interop peer for wsspec's tests.
//
// Usage: ws_echo.js PORT [--deflate]
//
// Listens on 127.0.0.1:PORT, sends every text and binary message back with the
// same type and payload, prints `ready` on stdout once listening, and exits with
// status 0 on SIGTERM or SIGINT. permessage-deflate is off unless --deflate is
// given (then ws's defaults: it accepts offers, and compresses messages of 1 KiB
// and more). `ws` is resolved from scripts/peers/node_modules (run scripts/install-peers).
'use strict';

const { WebSocketServer } = require('ws');

const [arg, flag] = process.argv.slice(2);
const port = Number(arg);
const deflate = flag === '--deflate';
if (process.argv.length > 4 || !/^\d+$/.test(arg) || port > 65535 || (flag !== undefined && !deflate)) {
  console.error('usage: ws_echo.js PORT [--deflate]');
  process.exit(2);
}

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: deflate,
  maxPayload: 256 * 1024 * 1024,
});

wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    socket.send(data, { binary: isBinary });
  });
  // ws fails the connection itself (close frame with 1002/1007/1009, then
  // TCP close); without a listener the 'error' event would crash the process.
  socket.on('error', () => {});
});

wss.on('listening', () => {
  console.log('ready');
});

wss.on('error', (err) => {
  console.error(`ws_echo: ${err.message}`);
  process.exit(1);
});

function shutdown() {
  for (const client of wss.clients) {
    client.terminate();
  }
  wss.close(() => process.exit(0));
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

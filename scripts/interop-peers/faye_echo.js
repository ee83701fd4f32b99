#!/usr/bin/env node
// Echo server on `faye-websocket`, an interop peer for scripts/interop.
//
// Usage: faye_echo.js PORT
//
// Listens on 127.0.0.1:PORT, sends every text and binary message back with the same type, prints
// `ready` once listening. No extensions; messages are capped at 64 MiB.
'use strict';

const http = require('http');
const WebSocket = require('faye-websocket');

const server = http.createServer((_, res) => {
  res.writeHead(404);
  res.end();
});
server.on('upgrade', (request, socket, body) => {
  if (!WebSocket.isWebSocket(request)) {
    socket.destroy();
    return;
  }
  const ws = new WebSocket(request, socket, body, [], { maxLength: 64 * 1024 * 1024 });
  ws.on('message', (event) => ws.send(event.data));
});
server.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));

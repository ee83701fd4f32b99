#!/usr/bin/env node
// Echo server on the npm package `websocket` (WebSocket-Node), an interop peer for scripts/interop.
//
// Usage: websocket_echo.js PORT
//
// Listens on 127.0.0.1:PORT, sends every text and binary message back with the same type, prints
// `ready` once listening. Compression is off; messages are capped at 64 MiB.
'use strict';

const http = require('http');
const { server: WebSocketServer } = require('websocket');

const server = http.createServer((_, res) => {
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({
  httpServer: server,
  maxReceivedFrameSize: 64 * 1024 * 1024,
  maxReceivedMessageSize: 64 * 1024 * 1024,
  autoAcceptConnections: false,
});
wss.on('request', (request) => {
  const connection = request.accept(null, request.origin);
  connection.on('message', (message) => {
    if (message.type === 'utf8') {
      connection.sendUTF(message.utf8Data);
    } else {
      connection.sendBytes(message.binaryData);
    }
  });
});
server.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));

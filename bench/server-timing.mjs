// Preloaded into the Herald process by bench/delivery-log.mjs (NODE_OPTIONS=--import=…), never
// by Herald itself. Stamps every HTTP request when node:http has parsed its headers (the
// server's 'request' event) and adds `x-bench-server-ms` to the response when its head is
// written: routing, auth hooks, the handler's store calls and the JSON serialisation, i.e.
// the server's time without the network and the client. (Herald's own request logging is off.)
import http from 'node:http';

const T0 = Symbol('benchRequestStart');

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, req) {
  if (event === 'request') req[T0] = performance.now();
  return emit.apply(this, arguments);
};

const writeHead = http.ServerResponse.prototype.writeHead;
http.ServerResponse.prototype.writeHead = function (...args) {
  const t0 = this.req?.[T0];
  if (t0 !== undefined && !this.headersSent) this.setHeader('x-bench-server-ms', (performance.now() - t0).toFixed(3));
  return writeHead.apply(this, args);
};

/**
 * kafkajs' socket factory (plain TCP or TLS, keep-alive, as kafkajs' own), watched: every
 * connection to a broker reports to an {@link EndpointHealth} when it is tried and when it
 * fails (refused, timed out, closed before the broker answered); the client reports answers
 * (kafkajs' request events: bytes on the socket may be anything, e.g. an HTTP proxy's). So a
 * process can say within seconds which broker does not answer, whatever kafkajs is retrying
 * (its own errors surface only when its retries are used up, a minute or more later).
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import type { ISocketFactory } from "kafkajs";
import { type EndpointHealth, networkFailure } from "../common/endpoint_health.ts";

/** kafkajs' keep-alive delay. */
const KEEP_ALIVE_DELAY_MS = 60_000;

/** Options of {@link watchedSocketFactory}. */
export interface WatchedSocketOptions {
  health: EndpointHealth;
  /** kafkajs' connection timeout, ms: a connection not made by then has timed out. */
  connectionTimeoutMs: number;
  /** What to check when `address` (host:port) does not answer. */
  hint: (address: string) => string;
}

/** A kafkajs socket factory reporting to `o.health`; see the module doc. */
export function watchedSocketFactory(o: WatchedSocketOptions): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    const address = `${host}:${port}`;
    const hint = o.hint(address);
    o.health.attempt("broker", address, hint);
    const socket = ssl
      ? tls.connect(
        Object.assign({ host, port }, net.isIP(host) ? {} : { servername: host }, ssl),
        onConnect,
      )
      : net.connect({ host, port }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
    let connected = false;
    // A failure after the broker answered on this socket (it went away) shows at the reconnect.
    const fail = (reason: string) => {
      if (o.health.unanswered("broker", address)) o.health.failed("broker", address, reason, hint);
    };
    const timer = setTimeout(() => {
      if (!connected) {
        fail(`connection timed out after ${Math.round(o.connectionTimeoutMs / 1000)} s`);
      }
    }, o.connectionTimeoutMs);
    socket.once("connect", () => {
      connected = true;
      clearTimeout(timer);
    });
    socket.once("error", (e: Error) => fail(networkFailure(e) ?? e.message));
    socket.once("end", () => fail("the connection was closed before the broker answered"));
    socket.once("close", () => clearTimeout(timer));
    return socket;
  };
}

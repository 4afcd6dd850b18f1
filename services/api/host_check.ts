/**
 * The Host check of a server bound to loopback: a request must name the server by a loopback
 * name or by an allowed host, or it is answered 421. Without it, any web page could reach the
 * API through DNS rebinding (a name of the attacker's that resolves to 127.0.0.1 makes the
 * browser treat the API as the attacker's own origin and let the page read the answers).
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { jsonError } from "./json_error.ts";

/** Host names (no port) that always name this machine. */
export const LOOPBACK_NAMES: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/** Whether binding `hostname` (as given to Deno.serve) serves only this machine. */
export function isLoopbackBind(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * The host name of a Host header, lower-cased, without port and trailing dot; IPv6 addresses
 * keep their brackets (`[::1]`). Null when the header is not a host name at all.
 */
export function hostName(header: string): string | null {
  const h = header.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^\s:[\]/@]+)(?::\d{1,5})?$/.exec(h);
  if (m === null) return null;
  return m[1]!.replace(/\.$/, "");
}

/** The bracketed form of an IPv6 address (`::1` -> `[::1]`); other names unchanged. */
export function hostForm(hostname: string): string {
  const h = hostname.toLowerCase();
  return h.includes(":") && !h.startsWith("[") ? `[${h}]` : h;
}

/**
 * The Host names a server bound to `host` accepts: on loopback, the loopback names, the bound
 * address and `extra`; elsewhere, `extra` only, or any (undefined) when none are given.
 */
export function acceptedHosts(
  host: string,
  extra: readonly string[] = [],
): readonly string[] | undefined {
  if (!isLoopbackBind(host)) return extra.length === 0 ? undefined : extra;
  return [...new Set([...LOOPBACK_NAMES, hostForm(host), ...extra])];
}

/**
 * Answers 421 (`misdirected_request`) to requests whose Host header names none of `allowed`
 * (host names without port, compared case-insensitively), and 400 (`bad_host`) to requests
 * whose Host header is not a host name.
 */
export function hostCheck(allowed: readonly string[]): MiddlewareHandler {
  const names = new Set(allowed.map((a) => hostName(hostForm(a)) ?? a.toLowerCase()));
  return async (c, next) => {
    // Without a Host header (HTTP/1.0, or HTTP/2's :authority), the URL's host is what the
    // server was asked for; browsers, the rebinding attack's vehicle, always send Host.
    const name = hostName(c.req.header("host") ?? new URL(c.req.url).host);
    if (name === null) {
      return jsonError(c, 400, "bad_host", "The request's Host header is not a host name");
    }
    if (!names.has(name)) {
      return jsonError(
        c,
        421,
        "misdirected_request",
        "This server answers only requests addressed to " + [...names].join(", ") +
          " (the Host header names another host)",
      );
    }
    await next();
  };
}

/**
 * The access token: when the API has one, every request must carry it, or it is answered 401.
 * Programs send `Authorization: Bearer <token>`. A browser opens the web client once as
 * `/?token=<token>`: that page request is answered with a redirect to the same page without
 * the token and an HttpOnly cookie holding it, so that the page's files, its fetches and its
 * EventSource (which cannot send headers) all carry the token, and the token leaves the
 * address bar and the history. The query form is accepted only for page requests (GET and
 * HEAD outside `/api/` and `/metrics`), never for the API itself, where it would end up in
 * logs. Tokens are compared in constant time.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { timingSafeEqual } from "hono/utils/buffer";
import { jsonError } from "./json_error.ts";

/** The environment variable that gives `serve` and the http-api service their token. */
export const API_TOKEN_ENV = "EVOCHORA_API_TOKEN";

/** The cookie a browser keeps the token in after opening `/?token=...`. */
export const TOKEN_COOKIE = "evochora_token";

/** The query parameter that opens the web client with a token. */
export const TOKEN_QUERY = "token";

/** Fewest characters of a token: short ones could be guessed over the network. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * What is wrong with a token, or null when it can be used: at least {@link MIN_TOKEN_LENGTH}
 * visible ASCII characters (it travels in a header, a cookie and a URL).
 */
export function tokenProblem(token: string): string | null {
  if (!/^[\x21-\x7e]*$/.test(token)) {
    return "the access token may hold only visible ASCII characters (no spaces)";
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    return `the access token must have at least ${MIN_TOKEN_LENGTH} characters ` +
      `(e.g. the output of 'openssl rand -hex 16'), got ${token.length}`;
  }
  return null;
}

/** Answers 401 to every request that does not carry `token` (see the module doc). */
export function accessToken(token: string): MiddlewareHandler {
  const problem = tokenProblem(token);
  if (problem !== null) throw new Error(`Cannot use the access token: ${problem}`);
  const matches = async (given: string | undefined): Promise<boolean> =>
    given !== undefined && await timingSafeEqual(given, token);
  return async (c, next) => {
    if (await matches(bearerToken(c.req.header("authorization")))) return await next();
    if (await matches(getCookie(c, TOKEN_COOKIE))) return await next();
    if (isPageRequest(c) && await matches(c.req.query(TOKEN_QUERY))) {
      // Lax, not Strict: a link to `/?token=` from elsewhere is a cross-site navigation, and
      // Strict cookies are not sent on the redirect it follows. Every route only reads.
      setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: "Lax", path: "/" });
      const url = new URL(c.req.url);
      url.searchParams.delete(TOKEN_QUERY);
      return c.redirect(url.pathname + url.search, 303);
    }
    return jsonError(
      c,
      401,
      "unauthorized",
      "This server needs its access token: send 'Authorization: Bearer <token>', or open " +
        `the web client as /?${TOKEN_QUERY}=<token>`,
      { "www-authenticate": 'Bearer realm="evochora"' },
    );
  };
}

/** The token of an `Authorization: Bearer <token>` header, if that is what it holds. */
function bearerToken(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  return m === null ? undefined : m[1];
}

/** A browser opening a page of the web client (not an API call). */
function isPageRequest(c: Context): boolean {
  const { method, path } = c.req;
  return (method === "GET" || method === "HEAD") && !path.startsWith("/api/") &&
    path !== "/metrics";
}

/**
 * HTTP caching of a stored tick's answers (world regions, organism lists), as a Hono middleware.
 * Such an answer never changes once the tick is stored, so it is named by a strong ETag, marked
 * immutable, answered with 304 on a matching If-None-Match, and its encoded body is kept by the
 * entity's exact identity (not by a hash). The entity is also kept by URL, so that a warm
 * request skips parsing, listing and hashing.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { type EntityTag, etagMatches } from "./etag.ts";
import { type CacheStats, LruCache } from "./lru_cache.ts";

/** Cache-Control of an answer that never changes. */
export const IMMUTABLE = "public, max-age=31536000, immutable";

/**
 * Cache-Control of a stored tick's answer: immutable under a run id; `latest` names another
 * run once a newer one starts, so clients must revalidate (the ETag names the run).
 */
export function tickCaching(c: Context): string {
  return c.req.param("run") === "latest" ? "no-cache" : IMMUTABLE;
}

/** An encoded answer and its content type. */
interface Encoded {
  body: Uint8Array<ArrayBuffer>;
  type: string;
}

/**
 * Answers with the entity `tag` names: 304 when the client has it, else its body from the
 * cache, built by `build` (and kept) on a miss.
 */
export type AnswerEntity = (
  tag: EntityTag,
  type: string,
  build: () => Promise<Uint8Array<ArrayBuffer>>,
) => Promise<Response>;

/** The Hono environment of routes behind {@link ImmutableAnswers.middleware}. */
export interface ImmutableEnv {
  Variables: {
    /** How the route answers; the ETag must name the run, tick, query and representation. */
    answer: AnswerEntity;
  };
}

/** Options of {@link ImmutableAnswers}. */
export interface ImmutableAnswersOptions {
  /** Bytes of encoded bodies kept. */
  maxBytes: number;
  /** URLs whose ETag is kept. Default 20000. */
  maxUrls?: number;
  /** Bytes of the URL -> ETag index (URL and ETag strings). Default 8 MiB. */
  maxUrlBytes?: number;
}

/** The caches of immutable answers and the middleware that serves from them. */
export class ImmutableAnswers {
  readonly #bodies: LruCache<string, Encoded>;
  readonly #entityByUrl: LruCache<string, EntityTag>;

  constructor(options: ImmutableAnswersOptions) {
    this.#bodies = new LruCache({
      name: "responses",
      maxBytes: options.maxBytes,
      sizeOf: (r) => r.body.byteLength,
    });
    this.#entityByUrl = new LruCache({
      name: "url_index",
      maxEntries: options.maxUrls ?? 20000,
      maxBytes: options.maxUrlBytes ?? 8 * 2 ** 20,
      sizeOf: (t) => 2 * (t.etag.length + t.identity.length) + 64,
    });
  }

  /** Counters of the body cache and of the URL index. */
  stats(): CacheStats[] {
    return [this.#bodies.stats(), this.#entityByUrl.stats()];
  }

  /**
   * The middleware of a stored tick's route: answers a URL built before without running the
   * handler, else gives the handler `c.get("answer")`. `variant` names the representation the
   * request gets (e.g. "pb" or "json"), as the ETag must too.
   */
  middleware(variant: (c: Context) => string): MiddlewareHandler<ImmutableEnv> {
    return async (c, next) => {
      // `latest` names another run once a newer one starts: its URL names no fixed entity.
      const key = c.req.param("run") === "latest" ? null : `${variant(c)} ${c.req.url}`;
      if (key !== null) {
        const before = this.#builtBefore(c, key);
        if (before !== null) return before;
      }
      c.set("answer", (tag, type, build) => this.#answer(c, key, tag, type, build));
      await next();
    };
  }

  /** The answer built before for this URL key, or null. */
  #builtBefore(c: Context, key: string): Response | null {
    if (!this.#entityByUrl.has(key)) return null;
    const tag = this.#entityByUrl.get(key)!;
    const headers = entityHeaders(c, tag.etag);
    if (etagMatches(c.req.header("if-none-match"), tag.etag)) return c.body(null, 304, headers);
    if (!this.#bodies.has(tag.identity)) return null;
    const cached = this.#bodies.get(tag.identity)!;
    headers["content-type"] = cached.type;
    return c.body(cached.body, 200, headers);
  }

  async #answer(
    c: Context,
    key: string | null,
    tag: EntityTag,
    type: string,
    build: () => Promise<Uint8Array<ArrayBuffer>>,
  ): Promise<Response> {
    const headers = entityHeaders(c, tag.etag);
    if (etagMatches(c.req.header("if-none-match"), tag.etag)) return c.body(null, 304, headers);
    const cached = await this.#bodies.getOrLoad(
      tag.identity,
      async () => ({ body: await build(), type }),
    );
    if (key !== null) this.#entityByUrl.set(key, tag);
    headers["content-type"] = cached.type;
    return c.body(cached.body, 200, headers);
  }
}

/** The validators of an answer, sent with 200 and 304 alike. */
function entityHeaders(c: Context, etag: string): Record<string, string> {
  return { "etag": etag, "cache-control": tickCaching(c), "vary": "Accept" };
}

/**
 * Entity tags for answers that never change (a stored tick's world region) or change only when
 * files are added (merged exports), and the If-None-Match check.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** An entity's exact identity (cache key) and its strong ETag (sent to clients). */
export interface EntityTag {
  /** The identifying parts joined: compared exactly, never by hash alone. */
  identity: string;
  /** A quoted strong ETag: 128 bits of SHA-256 of the identity, so no request can forge another's. */
  etag: string;
}

/** The identity and ETag of the entity named by `parts` (run, tick, query, representation). */
export function entityTag(parts: readonly (string | number)[]): EntityTag {
  const identity = parts.join("\u0000");
  const digest = createHash("sha256").update(identity).digest("hex").slice(0, 32);
  return { identity, etag: `"${digest}"` };
}

/** A strong ETag (quoted) for the given identifying parts. */
export function strongEtag(parts: readonly (string | number)[]): string {
  return entityTag(parts).etag;
}

/**
 * Whether an If-None-Match header matches `etag` (weak comparison, as RFC 9110 prescribes for
 * If-None-Match; a server that compresses the body may have weakened the tag it sent).
 */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const bare = etag.replace(/^W\//, "");
  return ifNoneMatch.split(",").some((t) => {
    const tag = t.trim();
    return tag === "*" || tag.replace(/^W\//, "") === bare;
  });
}

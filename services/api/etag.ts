/**
 * Entity tags for answers that never change (a stored tick's world region) or change only when
 * files are added (merged exports), and the If-None-Match check.
 *
 * @module
 */

/** 64-bit FNV-1a over the UTF-16 code units of `text`, as 16 hex digits. */
export function hash64(text: string): string {
  // Two 32-bit halves of the 64-bit state; Math.imul keeps the arithmetic in int32.
  let h0 = 0x84222325 | 0;
  let h1 = 0xcbf29ce4 | 0;
  for (let i = 0; i < text.length; i++) {
    h0 ^= text.charCodeAt(i);
    // Multiply by the 64-bit FNV prime 0x00000100_000001b3.
    const lo = Math.imul(h0 & 0xffff, 0x1b3);
    const mid = Math.imul(h0 >>> 16, 0x1b3) + (lo >>> 16);
    const newLo = ((mid & 0xffff) << 16) | (lo & 0xffff);
    const newHi = Math.imul(h1, 0x1b3) + Math.imul(h0, 0x100) + (mid >>> 16);
    h0 = newLo | 0;
    h1 = newHi | 0;
  }
  return (h1 >>> 0).toString(16).padStart(8, "0") + (h0 >>> 0).toString(16).padStart(8, "0");
}

/** A strong ETag (quoted) for the given identifying parts. */
export function strongEtag(parts: readonly (string | number)[]): string {
  return `"${hash64(parts.join("\u0000"))}"`;
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

/**
 * The compatibility rule of stored formats: every stored message (metadata, chunks in batches,
 * end records, dead letters, BatchInfo) carries `format_version`, an integer that is the
 * format's major version. A change that old readers would misread raises it; additions they can
 * ignore (new fields) do not. A reader accepts every version up to its own
 * ({@link FORMAT_VERSION}) and refuses a newer one with a message naming it, instead of
 * guessing; 0 (unset) is read as version 1, the first.
 *
 * @module
 */

import { FORMAT_VERSION } from "../../proto/mod.ts";

export { FORMAT_VERSION };

/** Why `what` cannot be read by this build, or null when its format version is one it reads. */
export function newerFormatProblem(what: string, formatVersion: number): string | null {
  if (formatVersion <= FORMAT_VERSION) return null;
  return `${what} has format version ${formatVersion}, newer than this build reads ` +
    `(up to ${FORMAT_VERSION}); read it with a newer evochora`;
}

/** Thrown by readers that meet a format version newer than theirs. */
export class NewerFormatError extends Error {
  override readonly name = "NewerFormatError";
}

/** Throws {@link NewerFormatError} when `formatVersion` is newer than this build reads. */
export function checkFormatVersion(what: string, formatVersion: number): void {
  const problem = newerFormatProblem(what, formatVersion);
  if (problem !== null) throw new NewerFormatError(`Cannot read ${problem}`);
}

/**
 * Absolute filesystem paths made fit for an answer: status texts (a storage's description, a
 * service's error) name directories as the process sees them, and an answer must not tell a
 * client where the data lives on the server. A path below the working directory becomes
 * relative (`./data`); any other becomes its last name (`.../data`).
 *
 * @module
 */

import { relative, sep } from "node:path";

// An absolute POSIX path (not the path part of a URL: it follows no word character, `:` or
// `/`), or a Windows drive path.
const ABSOLUTE = /(?<![\w.~:/\\-])(?:\/|[A-Za-z]:\\)[^\s'"`,;:()<>]+/g;

/** `text` with every absolute path replaced by its display form (see the module doc). */
export function displayPaths(text: string, cwd: string = workingDirectory()): string {
  return text.replace(ABSOLUTE, (path) => displayPath(path, cwd));
}

/** One absolute path's display form. */
export function displayPath(path: string, cwd: string = workingDirectory()): string {
  const trimmed = path.replace(/[/\\]+$/, "");
  if (trimmed === "" || /^[A-Za-z]:$/.test(trimmed)) return "...";
  if (cwd !== "" && path.startsWith("/")) {
    const rel = relative(cwd, trimmed);
    if (rel === "") return ".";
    if (!rel.startsWith("..") && !rel.startsWith(sep)) return `./${rel}`;
  }
  return `.../${trimmed.split(/[/\\]/).at(-1)}`;
}

function workingDirectory(): string {
  try {
    return Deno.cwd();
  } catch {
    // Without read permission, nothing is shown relative to it.
    return "";
  }
}

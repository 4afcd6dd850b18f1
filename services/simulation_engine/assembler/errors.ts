/**
 * The one error type the assembler throws for bad source.
 *
 * @module
 */

/** A problem in assembler source, located at `file:line:column` (1-based). */
export class AssemblyError extends Error {
  override name = "AssemblyError";
  /** File name used in the message. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column of the offending token. */
  readonly column: number;
  /** What would have been accepted, when known. */
  readonly expected?: string;

  /** Message: `file:line:column: what[, expected expected]`. */
  constructor(file: string, line: number, column: number, what: string, expected?: string) {
    super(
      `${file}:${line}:${column}: ${what}${expected === undefined ? "" : `, expected ${expected}`}`,
    );
    this.file = file;
    this.line = line;
    this.column = column;
    if (expected !== undefined) this.expected = expected;
  }
}

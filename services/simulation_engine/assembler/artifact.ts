/**
 * What the assembler produces: placed cells relative to the program origin plus metadata.
 *
 * @module
 */

/** Options for `assemble`. */
export interface AssembleOptions {
  /** World dimensions (default 2). */
  dims?: number;
  /** File name used in error messages and source maps (default `<source>`). */
  file?: string;
}

/** One molecule at a position relative to the program origin. */
export interface PlacedCell {
  /** Position, length `dims`. */
  pos: number[];
  /** Packed molecule, marker 0. */
  molecule: number;
}

/** Where a cell came from. */
export interface SourceRef {
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column of the token that produced the cell. */
  column: number;
  /** The source line, trimmed. */
  text: string;
}

/** An assembled program. */
export interface ProgramArtifact {
  dims: number;
  /** Cells in emission order, at distinct positions. */
  cells: PlacedCell[];
  /** Label name (upper case) to the position of its LABEL cell. */
  labels: Map<string, number[]>;
  /** {@link posKey} of a cell's position to its source. */
  sourceMap: Map<string, SourceRef>;
  /** Initial IP position: `.ENTRY`, else label START, else the first instruction. */
  entry: number[];
  /** Initial IP direction (`.DIRECTION`, default +x). */
  direction: number[];
}

/** Map key of a position: components joined by `|`. */
export function posKey(pos: readonly number[]): string {
  return pos.join("|");
}

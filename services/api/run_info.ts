/**
 * A run's metadata as the API uses it, checked: metadata that is empty, malformed or
 * inconsistent makes the run unreadable with a reason, never a world of no shape.
 *
 * @module
 */

import { fromBinary, type SimulationMetadata, SimulationMetadataSchema } from "../../proto/mod.ts";
import { newerFormatProblem } from "../common/format_version.ts";

/** A run's metadata and what follows from it. */
export interface RunInfo {
  runId: string;
  metadata: SimulationMetadata;
  shape: number[];
  /** Cells in the world. */
  cellCount: number;
  /** Ticks between samples (at least 1). */
  sampling: number;
  startedAtMs: number;
}

/** Most cells a world the API serves may have (2 Int32Array states of it must fit). */
export const MAX_WORLD_CELLS = 2 ** 28;

/** The run's info from its stored metadata bytes, or why they cannot be used. */
export function runInfoOf(runId: string, bytes: Uint8Array): RunInfo | string {
  if (bytes.length === 0) return "metadata.pb is empty (0 bytes)";
  let metadata: SimulationMetadata;
  try {
    metadata = fromBinary(SimulationMetadataSchema, bytes);
  } catch (e) {
    return `metadata.pb (${bytes.length} bytes) is malformed: ${(e as Error).message}`;
  }
  const newer = newerFormatProblem("metadata.pb", metadata.formatVersion);
  if (newer !== null) return newer;
  if (metadata.runId !== runId) {
    return `metadata.pb names another run (${JSON.stringify(metadata.runId.slice(0, 80))})`;
  }
  const shape = [...metadata.shape];
  if (shape.length === 0) return "metadata.pb gives the world no shape";
  if (shape.some((n) => !Number.isInteger(n) || n < 1)) {
    return `metadata.pb gives the world the shape [${shape.join(",")}]`;
  }
  const cellCount = shape.reduce((a, b) => a * b, 1);
  if (cellCount > MAX_WORLD_CELLS) {
    return `its world has ${cellCount} cells, more than the ${MAX_WORLD_CELLS} the API serves`;
  }
  return {
    runId,
    metadata,
    shape,
    cellCount,
    sampling: Math.max(1, metadata.intervals?.sampling ?? 1),
    startedAtMs: Number(metadata.startedAtMs),
  };
}

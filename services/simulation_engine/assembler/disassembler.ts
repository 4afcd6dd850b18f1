/**
 * Turns an assembled program back into a listing (one instruction's text is codec's
 * `disassemble`, which readers of stored organisms use too).
 *
 * @module
 */

import {
  argCells,
  formatMolecule,
  instructionByOpcode,
  instructionText,
  MoleculeType,
  typeOf,
  valueOf,
} from "../../../codec/mod.ts";
import { posKey, type ProgramArtifact } from "./artifact.ts";

export { disassemble } from "../../../codec/mod.ts";

/**
 * A listing of an assembled program, one line per instruction, label or other cell:
 * `position  text  # source line`. Label references print as label names where known.
 */
export function disassembleProgram(artifact: ProgramArtifact): string {
  const { cells, dims, sourceMap } = artifact;
  const names = new Map<string, string>();
  for (const [name, pos] of artifact.labels) names.set(posKey(pos), name);
  const byHash = new Map<number, string>();
  for (const c of cells) {
    const name = names.get(posKey(c.pos));
    if (name !== undefined) byHash.set(valueOf(c.molecule), name);
  }
  const rows: [string, string, string][] = [];
  for (let i = 0; i < cells.length;) {
    const cell = cells[i];
    if (cell === undefined) break;
    const key = posKey(cell.pos);
    const src = sourceMap.get(key);
    const m = cell.molecule;
    const spec = typeOf(m) === MoleculeType.CODE ? instructionByOpcode(valueOf(m)) : undefined;
    let line: string;
    let used = 1;
    if (spec !== undefined) {
      const n = spec.args.reduce((s, k) => s + argCells(k, dims), 0);
      const args: number[] = [];
      for (let j = 1; j <= n; j++) {
        const next = cells[i + j];
        if (next === undefined || sourceMap.get(posKey(next.pos))?.line !== src?.line) break;
        args.push(next.molecule);
      }
      used += args.length;
      line = instructionText(m, args, dims, (v) => byHash.get(v));
    } else if (typeOf(m) === MoleculeType.LABEL && names.has(key)) {
      line = `${names.get(key)}:`;
    } else {
      line = formatMolecule(m);
    }
    rows.push([key, line, src?.text ?? ""]);
    i += used;
  }
  const w0 = Math.max(0, ...rows.map((r) => r[0].length));
  const w1 = Math.max(0, ...rows.map((r) => r[1].length));
  return rows.map(([p, t, s]) => `${p.padEnd(w0)}  ${s ? `${t.padEnd(w1)}  # ${s}` : t}`)
    .join("\n");
}

/**
 * Turns molecules back into assembler text.
 *
 * @module
 */

import { formatMolecule, markerOf, MoleculeType, typeOf, valueOf } from "../../../codec/mod.ts";
import {
  argCells,
  DATA_REGISTERS,
  instructionByOpcode,
  LOCATION_REGISTERS,
} from "../runtime/isa.ts";
import { posKey, type ProgramArtifact } from "./artifact.ts";

function plain(m: number, type: number): boolean {
  return typeOf(m) === type && markerOf(m) === 0;
}

function register(m: number, bank: string, count: number): string {
  const v = valueOf(m);
  return plain(m, MoleculeType.REGISTER) && v >= 0 && v < count
    ? `%${bank}${v}`
    : formatMolecule(m);
}

function text(
  opcodeMolecule: number,
  argMolecules: readonly number[],
  dims: number,
  labelName: (value: number) => string | undefined,
): string {
  const spec = typeOf(opcodeMolecule) === MoleculeType.CODE
    ? instructionByOpcode(valueOf(opcodeMolecule))
    : undefined;
  if (spec === undefined) return formatMolecule(opcodeMolecule);
  const parts: string[] = [spec.name];
  let i = 0;
  for (const kind of spec.args) {
    const cells = argMolecules.slice(i, i + argCells(kind, dims));
    i += argCells(kind, dims);
    const [m] = cells;
    if (m === undefined || cells.length < argCells(kind, dims)) {
      parts.push("?");
      continue;
    }
    switch (kind) {
      case "R":
        parts.push(register(m, "DR", DATA_REGISTERS));
        break;
      case "L":
        parts.push(register(m, "LR", LOCATION_REGISTERS));
        break;
      case "I":
        parts.push(formatMolecule(m));
        break;
      case "T":
        parts.push(
          (plain(m, MoleculeType.LABELREF) ? labelName(valueOf(m)) : undefined) ??
            formatMolecule(m),
        );
        break;
      case "V":
        parts.push(
          cells.map((c) => plain(c, MoleculeType.DATA) ? `${valueOf(c)}` : formatMolecule(c))
            .join("|"),
        );
    }
  }
  return parts.join(" ");
}

/**
 * One instruction as text, e.g. `SETI %DR0 DATA:5`, `SCAN %DR1 1|0`, `JMPI LABELREF:1234`.
 * Unknown opcodes and non-CODE molecules print as `formatMolecule` (`CODE:99`, `DATA:5`);
 * missing argument cells print as `?`.
 */
export function disassemble(opcodeMolecule: number, argMolecules: number[], dims: number): string {
  return text(opcodeMolecule, argMolecules, dims, () => undefined);
}

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
      line = text(m, args, dims, (v) => byHash.get(v));
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

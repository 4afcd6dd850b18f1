/**
 * Instructions as text: what the assembler accepts, from the molecules the engine stores
 * (a stored organism's last instruction, a program's cells).
 *
 * @module
 */

import { argCells, DATA_REGISTERS, instructionByOpcode, LOCATION_REGISTERS } from "./isa.ts";
import { formatMolecule, markerOf, MoleculeType, typeOf, valueOf } from "./molecule.ts";

function plain(m: number, type: number): boolean {
  return typeOf(m) === type && markerOf(m) === 0;
}

function register(m: number, bank: string, count: number): string {
  const v = valueOf(m);
  return plain(m, MoleculeType.REGISTER) && v >= 0 && v < count
    ? `%${bank}${v}`
    : formatMolecule(m);
}

/**
 * One instruction as text; `labelName` names a label reference where it knows it (a listing
 * knows its program's labels; a stored organism's last instruction does not).
 */
export function instructionText(
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
  return instructionText(opcodeMolecule, argMolecules, dims, () => undefined);
}

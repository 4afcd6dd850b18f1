import { equal } from "node:assert/strict";
import {
  formatMolecule,
  markerOf,
  MoleculeType,
  pack,
  typeOf,
  VALUE_MAX,
  VALUE_MIN,
  valueOf,
  withValue,
  wrapValue,
} from "./molecule.ts";

Deno.test("pack keeps type, signed 20-bit value and marker apart", () => {
  for (const value of [0, 1, -1, VALUE_MIN, VALUE_MAX, 12345, -12345]) {
    const m = pack(MoleculeType.STRUCTURE, value, 9);
    equal(typeOf(m), MoleculeType.STRUCTURE);
    equal(valueOf(m), value);
    equal(markerOf(m), 9);
  }
  equal(pack(MoleculeType.CODE, 0), 0, "the empty cell is CODE:0");
  // The highest marker sets bit 27 only; the int32 stays positive.
  equal(pack(MoleculeType.REGISTER, -1, 15), 0x0f6fffff);
});

Deno.test("values wrap around the 20-bit range", () => {
  equal(wrapValue(VALUE_MAX + 1), VALUE_MIN);
  equal(wrapValue(VALUE_MIN - 1), VALUE_MAX);
  equal(valueOf(pack(MoleculeType.DATA, VALUE_MAX + 2)), VALUE_MIN + 1);
  const m = withValue(pack(MoleculeType.ENERGY, 5, 3), -7);
  equal(formatMolecule(m), "ENERGY:-7@3");
});

Deno.test("formatMolecule names types, markers and unknown types", () => {
  equal(formatMolecule(pack(MoleculeType.DATA, 5)), "DATA:5");
  equal(formatMolecule(pack(MoleculeType.LABELREF, -2, 1)), "LABELREF:-2@1");
  equal(formatMolecule(pack(9, 1)), "TYPE9:1");
});

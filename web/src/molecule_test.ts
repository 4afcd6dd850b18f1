import assert from "node:assert/strict";
import {
  BACKGROUND,
  colourByOwner,
  colourByType,
  formatMolecule,
  genomeHex,
  markerOf,
  ownerHue,
  rgbaWord,
  TYPE_COLOURS,
  typeOf,
  valueOf,
} from "./molecule.ts";

const pack = (type: number, value: number, marker = 0) =>
  ((marker & 15) << 24) | ((type & 15) << 20) | (value & 0xfffff);

Deno.test("molecule fields: type, sign-extended value, marker", () => {
  const m = pack(2, -5, 3);
  assert.equal(typeOf(m), 2);
  assert.equal(valueOf(m), -5);
  assert.equal(markerOf(m), 3);
  assert.equal(valueOf(pack(1, 524287)), 524287);
  assert.equal(valueOf(pack(1, -524288)), -524288);
});

Deno.test("formatMolecule names types and opcodes", () => {
  assert.equal(formatMolecule(0), "empty");
  assert.equal(formatMolecule(pack(1, 5)), "DATA:5");
  assert.equal(formatMolecule(pack(2, 200, 3)), "ENERGY:200@3");
  assert.equal(formatMolecule(pack(0, 2), undefined, ["NOP", "SETI", "SETR"]), "CODE:2 (SETR)");
  assert.equal(formatMolecule(pack(0, 99), undefined, ["NOP"]), "CODE:99");
  assert.equal(formatMolecule(pack(9, 1)), "TYPE9:1");
});

Deno.test("type colours: empty is background, unowned dimmed", () => {
  assert.deepEqual(colourByType(0, 0), BACKGROUND);
  assert.deepEqual(colourByType(pack(1, 5), 7), TYPE_COLOURS[1]);
  const dim = colourByType(pack(1, 5), 0);
  assert.ok(dim[1] < TYPE_COLOURS[1]![1]);
});

Deno.test("owner colours: stable per id, spread over hues", () => {
  assert.deepEqual(colourByOwner(0, 0), BACKGROUND);
  assert.deepEqual(colourByOwner(pack(0, 1), 42), colourByOwner(pack(0, 1), 42));
  const hues = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((id) => Math.floor(ownerHue(id) / 30)));
  assert.ok(hues.size >= 5, `hues of ids 1..8 fall in ${hues.size} of 12 sectors`);
  for (let id = 1; id < 1000; id++) {
    const h = ownerHue(id);
    assert.ok(h >= 0 && h < 360);
  }
});

Deno.test("rgbaWord is little-endian RGBA, genomeHex 8 digits", () => {
  assert.equal(rgbaWord([1, 2, 3]), 0xff030201);
  assert.equal(genomeHex(0xabc), "00000abc");
  assert.equal(genomeHex(-1), "ffffffff");
});

/**
 * Packed molecules: every world cell is one int32, in the engine's world and on the wire
 * (`CellColumns.molecule`, data registers and stacks of `OrganismState`).
 *
 * Layout (least significant bit first):
 * - bits 0..19: value, two's complement 20-bit signed (-524288..524287)
 * - bits 20..23: molecule type ({@link MoleculeType})
 * - bits 24..27: marker (0..15), set by POKE from the writer's MR, used by FORK
 *
 * The empty cell is 0, which is also `CODE:0` (NOP).
 *
 * @module
 */

/** Molecule types stored in bits 20..23 of a packed cell. */
export const MoleculeType = {
  CODE: 0,
  DATA: 1,
  ENERGY: 2,
  STRUCTURE: 3,
  LABEL: 4,
  LABELREF: 5,
  REGISTER: 6,
} as const;

/** One of the {@link MoleculeType} values. */
export type MoleculeType = typeof MoleculeType[keyof typeof MoleculeType];

/** Type names in type order, as written in assembler literals (`DATA:5`). */
export const MOLECULE_TYPE_NAMES: readonly string[] = [
  "CODE",
  "DATA",
  "ENERGY",
  "STRUCTURE",
  "LABEL",
  "LABELREF",
  "REGISTER",
];

/** Number of molecule types. */
export const MOLECULE_TYPE_COUNT = 7;

/** Width of the signed value field. */
export const VALUE_BITS = 20;
/** The value bits of a packed cell. */
export const VALUE_MASK = (1 << VALUE_BITS) - 1;
/** Smallest value a molecule holds. */
export const VALUE_MIN = -(1 << (VALUE_BITS - 1));
/** Largest value a molecule holds. */
export const VALUE_MAX = (1 << (VALUE_BITS - 1)) - 1;
/** First bit of the molecule type. */
export const TYPE_SHIFT = 20;
/** The type bits of a packed cell. */
export const TYPE_MASK = 0xf << TYPE_SHIFT;
/** First bit of the marker. */
export const MARKER_SHIFT = 24;
/** The marker bits of a packed cell. */
export const MARKER_MASK = 0xf << MARKER_SHIFT;
/** Bits that carry the molecule itself (type and value), without the marker. */
export const CONTENT_MASK = TYPE_MASK | VALUE_MASK;
/** The empty cell. */
export const EMPTY = 0;

/** Packs a molecule. Values outside the 20-bit range wrap around. */
export function pack(type: number, value: number, marker = 0): number {
  return (((marker & 0xf) << MARKER_SHIFT) | ((type & 0xf) << TYPE_SHIFT) | (value & VALUE_MASK)) |
    0;
}

/** The signed 20-bit value of a packed molecule. */
export function valueOf(m: number): number {
  return (m << (32 - VALUE_BITS)) >> (32 - VALUE_BITS);
}

/** The type of a packed molecule. */
export function typeOf(m: number): number {
  return (m >>> TYPE_SHIFT) & 0xf;
}

/** The marker of a packed molecule. */
export function markerOf(m: number): number {
  return (m >>> MARKER_SHIFT) & 0xf;
}

/** Wraps an integer into the signed 20-bit value range. */
export function wrapValue(v: number): number {
  return ((v & VALUE_MASK) << (32 - VALUE_BITS)) >> (32 - VALUE_BITS);
}

/** Returns `m` with a new value, type and marker kept. */
export function withValue(m: number, value: number): number {
  return ((m & ~VALUE_MASK) | (value & VALUE_MASK)) | 0;
}

/** Human-readable form, e.g. `DATA:5`. */
export function formatMolecule(m: number): string {
  const t = typeOf(m);
  const name = MOLECULE_TYPE_NAMES[t] ?? `TYPE${t}`;
  const marker = markerOf(m);
  return marker === 0 ? `${name}:${valueOf(m)}` : `${name}:${valueOf(m)}@${marker}`;
}

/**
 * Packed molecules as the client sees them, and their colours. No DOM: unit-tested in Deno.
 *
 * A cell is one int32: value in bits 0-19 (signed), type in 20-23, marker in 24-27
 * (codec/molecule.ts is the reference).
 *
 * @module
 */

/** Type names by type number, used when the run does not list them. */
export const DEFAULT_TYPE_NAMES: readonly string[] = [
  "CODE",
  "DATA",
  "ENERGY",
  "STRUCTURE",
  "LABEL",
  "LABELREF",
  "REGISTER",
];

export const CODE = 0;

/** The molecule type (0..15). */
export function typeOf(m: number): number {
  return (m >>> 20) & 15;
}

/** The signed 20-bit value. */
export function valueOf(m: number): number {
  return (m << 12) >> 12;
}

/** The marker (0..15). */
export function markerOf(m: number): number {
  return (m >>> 24) & 15;
}

/**
 * Text of a molecule, e.g. `CODE:43`, `DATA:-5`, `ENERGY:200@3` (marker 3); with opcode
 * names, CODE molecules get their mnemonic: `CODE:43 (JMPI)`. 0 is `empty`.
 */
export function formatMolecule(
  m: number,
  typeNames: readonly string[] = DEFAULT_TYPE_NAMES,
  instructionNames?: readonly string[],
): string {
  if (m === 0) return "empty";
  const t = typeOf(m);
  const v = valueOf(m);
  const marker = markerOf(m);
  let s = `${typeNames[t] ?? `TYPE${t}`}:${v}`;
  if (marker !== 0) s += `@${marker}`;
  if (t === CODE && instructionNames) {
    const name = instructionNames[v];
    if (name !== undefined) s += ` (${name})`;
  }
  return s;
}

/** RGB triple, 0..255 each. */
export type Rgb = readonly [number, number, number];

/** Background of empty, unowned cells. */
export const BACKGROUND: Rgb = [14, 17, 23];
/** Empty cells that an organism owns. */
export const OWNED_EMPTY: Rgb = [40, 44, 56];

/** Colours by type number: CODE, DATA, ENERGY, STRUCTURE, LABEL, LABELREF, REGISTER. */
export const TYPE_COLOURS: readonly Rgb[] = [
  [76, 139, 245], // CODE: blue
  [80, 200, 120], // DATA: green
  [250, 204, 21], // ENERGY: yellow
  [220, 90, 70], // STRUCTURE: red
  [190, 120, 240], // LABEL: violet
  [240, 120, 190], // LABELREF: pink
  [60, 210, 220], // REGISTER: cyan
];
const UNKNOWN_TYPE: Rgb = [200, 200, 200];

/** CSS colour of a type, for legends. */
export function typeCss(type: number): string {
  const [r, g, b] = TYPE_COLOURS[type] ?? UNKNOWN_TYPE;
  return `rgb(${r},${g},${b})`;
}

/**
 * Colour by molecule type. Owned molecules are drawn at full strength, unowned ones (free
 * matter, remains of the dead) dimmed, so bodies stand out.
 */
export function colourByType(m: number, owner: number): Rgb {
  if (m === 0) return owner === 0 ? BACKGROUND : OWNED_EMPTY;
  const c = TYPE_COLOURS[typeOf(m)] ?? UNKNOWN_TYPE;
  if (owner !== 0) return c;
  return [
    Math.round(c[0] * 0.45 + BACKGROUND[0] * 0.55),
    Math.round(c[1] * 0.45 + BACKGROUND[1] * 0.55),
    Math.round(c[2] * 0.45 + BACKGROUND[2] * 0.55),
  ];
}

/** A stable hue (0..360) for an owner id: a 32-bit integer hash, spread over the circle. */
export function ownerHue(owner: number): number {
  let h = owner | 0;
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h ^= h >>> 16;
  return ((h >>> 0) % 3600) / 10;
}

/** HSL (h in degrees, s and l in 0..1) to RGB. */
export function hslToRgb(h: number, s: number, l: number): Rgb {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}

const UNOWNED_MATTER: Rgb = [70, 74, 84];

/** Colour by owner: a hashed hue per owner id; unowned matter grey; empty cells background. */
export function colourByOwner(m: number, owner: number): Rgb {
  if (owner === 0) return m === 0 ? BACKGROUND : UNOWNED_MATTER;
  return hslToRgb(ownerHue(owner), 0.75, m === 0 ? 0.3 : 0.58);
}

/** CSS colour of an owner id (the same hue as on the canvas). */
export function ownerCss(owner: number): string {
  const [r, g, b] = hslToRgb(ownerHue(owner), 0.75, 0.58);
  return `rgb(${r},${g},${b})`;
}

/** Colour mode of the world view. */
export type ColourMode = "type" | "owner";

/** A colour as little-endian RGBA packed into one uint32 (for a Uint32Array over ImageData). */
export function rgbaWord(c: Rgb): number {
  return ((255 << 24) | (c[2] << 16) | (c[1] << 8) | c[0]) >>> 0;
}

/** Genome hash as 8 hex digits. */
export function genomeHex(hash: number): string {
  return (hash >>> 0).toString(16).padStart(8, "0");
}

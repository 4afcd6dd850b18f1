/**
 * A sample's organisms as the indexers read them: one typed column per `OrganismState` field
 * they use, in ascending id order ({@link LeanOrganisms}). Format 2 stores organisms as columns
 * of changes (./organism_columns.ts); resolving those into an object per organism per sample was
 * half of the indexers' decoding time and nearly all their garbage. Here a sample's organisms
 * are one Float64Array, each field's column the previous sample's plus the stored changes.
 *
 * @module
 */

import { ChunkDecodeError } from "./_proto_reader.ts";
import {
  countVarints,
  decodeIds,
  decodeSint64s,
  matchIds,
  type ScannedColumns,
} from "./organism_columns.ts";

/** The number fields of `OrganismState` the indexes use, by field number (bools as 0 or 1). */
export const LEAN_FIELDS = [
  [2, "parentId"],
  [3, "birthTick"],
  [4, "generation"],
  [14, "energy"],
  [15, "entropy"],
  [17, "genomeHash"],
  [24, "alive"],
  [26, "children"],
  [27, "bodySize"],
  [28, "deathTick"],
] as const;

/** The name of a lean number field. */
export type LeanField = typeof LEAN_FIELDS[number][1];

/** `death_reason`'s field number: the one string field the indexes use. */
export const DEATH_REASON_FIELD = 25;

/**
 * One sample's organisms, ascending by id: element `i` of every column is organism `i`'s.
 * `alive` is 1 or 0; ticks are exact below 2^53.
 */
export type LeanOrganisms =
  & { readonly count: number; readonly id: Float64Array; readonly deathReason: string[] }
  & { readonly [K in LeanField]: Float64Array };

/** The fields of one organism, as {@link leanOrganismAt} gives them. */
export type LeanOrganism =
  & { id: number; alive: boolean; deathReason: string }
  & { [K in Exclude<LeanField, "alive">]: number };

const COLUMNS = LEAN_FIELDS.length + 1;

/** Organisms of `count`, every value 0 (deathReason ""), to be filled. */
export function allocLeanOrganisms(count: number): LeanOrganisms {
  const block = new Float64Array(count * COLUMNS);
  const col = (k: number) => block.subarray(k * count, (k + 1) * count);
  // One literal, always the same shape: readers' code stays monomorphic.
  return {
    count,
    id: col(0),
    parentId: col(1),
    birthTick: col(2),
    generation: col(3),
    energy: col(4),
    entropy: col(5),
    genomeHash: col(6),
    alive: col(7),
    children: col(8),
    bodySize: col(9),
    deathTick: col(10),
    deathReason: new Array<string>(count).fill(""),
  };
}

/** No organisms. */
export const NO_ORGANISMS: LeanOrganisms = allocLeanOrganisms(0);

/** Organism `i` of `os` as an object (tests, and readers of a single organism). */
export function leanOrganismAt(os: LeanOrganisms, i: number): LeanOrganism {
  if (i < 0 || i >= os.count) throw new RangeError(`Organism ${i} of ${os.count}`);
  const o = { id: os.id[i]!, deathReason: os.deathReason[i]! } as LeanOrganism;
  for (const [, name] of LEAN_FIELDS) {
    if (name === "alive") o.alive = os.alive[i] !== 0;
    else o[name] = os[name][i]!;
  }
  return o;
}

/** Every organism of `os` as objects, ascending by id. */
export function leanOrganismList(os: LeanOrganisms): LeanOrganism[] {
  return Array.from({ length: os.count }, (_, i) => leanOrganismAt(os, i));
}

/** Columns of organisms given one by one (format 1 stores a message per organism). */
export function leanOrganismsOf(list: readonly LeanOrganism[]): LeanOrganisms {
  const os = allocLeanOrganisms(list.length);
  list.forEach((o, i) => {
    os.id[i] = o.id;
    os.deathReason[i] = o.deathReason;
    for (const [, name] of LEAN_FIELDS) os[name][i] = name === "alive" ? Number(o.alive) : o[name];
  });
  return os;
}

/** Whether the lean organisms use field `field`'s column. */
export function leanColumn(field: number): boolean {
  return field === DEATH_REASON_FIELD || LEAN_FIELDS.some(([f]) => f === field);
}

/** Scratch for a column's decoded values and each organism's index in the previous sample. */
let values = new Float64Array(1024);
let before = new Int32Array(1024);

function mismatch(field: number, at: number, what: string): ChunkDecodeError {
  return new ChunkDecodeError(`organism column for field ${field}: ${what}`, at);
}

/** Decodes column `field` of `c` into the scratch, checked to hold one value per organism. */
function columnValues(c: ScannedColumns, field: number, n: number): Float64Array | undefined {
  const span = c.columns[field];
  if (span === undefined) return undefined;
  const count = countVarints(c.buf, span.values);
  if (values.length < count) values = new Float64Array(count * 2);
  const got = decodeSint64s(c.buf, span.values, values);
  if (got !== n) throw mismatch(field, span.at, `${got} values for ${n} organisms`);
  return values;
}

/**
 * The organisms of a sample from its scanned columns and the previous sample's organisms
 * ({@link NO_ORGANISMS} for a snapshot or a full delta): each field is the previous value of the
 * same id (0 for a new one) plus the column's change. Throws {@link ChunkDecodeError} for
 * columns that do not fit the organisms.
 */
export function resolveLeanOrganisms(c: ScannedColumns, previous: LeanOrganisms): LeanOrganisms {
  const count = countVarints(c.buf, c.ids);
  if (values.length < count) values = new Float64Array(count * 2);
  const n = decodeIds(c, values);
  const out = allocLeanOrganisms(n);
  out.id.set(values.subarray(0, n));
  if (before.length < n) before = new Int32Array(n * 2);
  matchIds(out.id, n, previous.id, previous.count, before);
  for (const [field, name] of LEAN_FIELDS) {
    const col = out[name];
    const prev = previous[name];
    const change = columnValues(c, field, n);
    for (let i = 0; i < n; i++) {
      const j = before[i]!;
      col[i] = (j < 0 ? 0 : prev[j]!) + (change === undefined ? 0 : change[i]!);
    }
  }
  const reasons = out.deathReason;
  for (let i = 0; i < n; i++) {
    const j = before[i]!;
    if (j >= 0) reasons[i] = previous.deathReason[j]!;
  }
  const change = columnValues(c, DEATH_REASON_FIELD, n);
  if (change !== undefined) {
    for (let i = 0; i < n; i++) {
      const k = change[i]!;
      if (k === 0) continue;
      const s = c.strings[k - 1];
      if (s === undefined) {
        throw mismatch(
          DEATH_REASON_FIELD,
          c.columns[DEATH_REASON_FIELD]!.at,
          `string ${k} of ${c.strings.length}`,
        );
      }
      reasons[i] = s;
    }
  }
  return out;
}

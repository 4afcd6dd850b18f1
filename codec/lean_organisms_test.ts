import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { create, DeltaType, TickDataChunkSchema, toBinary } from "../proto/mod.ts";
import { Reader } from "./_proto_reader.ts";
import { decodeLeanChunk } from "./lean_chunk.ts";
import {
  type LeanOrganism,
  leanOrganismAt,
  leanOrganismList,
  leanOrganismsOf,
  NO_ORGANISMS,
  resolveLeanOrganisms,
} from "./lean_organisms.ts";
import { scanOrganismColumns } from "./organism_columns.ts";

const zigzag = (v: number) => v >= 0 ? 2 * v : -2 * v - 1;

function organism(id: number, energy: number, alive = true, deathReason = ""): LeanOrganism {
  return {
    id,
    parentId: 0,
    birthTick: 0,
    generation: 0,
    energy,
    entropy: 0,
    genomeHash: 0,
    alive,
    deathReason,
    children: 0,
    bodySize: 0,
    deathTick: 0,
  };
}

Deno.test("leanOrganismsOf() and leanOrganismList() give back the organisms given", () => {
  const list = [organism(3, 10), organism(8, -2, false, "starved")];
  const os = leanOrganismsOf(list);
  equal(os.count, 2);
  deepStrictEqual([...os.energy], [10, -2]);
  deepStrictEqual([...os.alive], [1, 0]);
  deepStrictEqual(leanOrganismList(os), list);
  throws(() => leanOrganismAt(os, 2), RangeError);
});

Deno.test("a delta's organisms are the previous sample's values of the same id plus the changes", () => {
  const bytes = toBinary(
    TickDataChunkSchema,
    create(TickDataChunkSchema, {
      runId: "r",
      snapshot: {
        tick: 0n,
        organismColumns: { id: [1n, 1n], columns: [{ field: 14, values: [5n, 7n] }] },
      },
      deltas: [{
        tick: 1n,
        deltaType: DeltaType.INCREMENTAL,
        // ids 2 (energy 7 - 1) and 3 (new: 0 + 4, dead of a reason)
        organismColumns: {
          id: [2n, 1n],
          columns: [
            { field: 14, values: [-1n, 4n] },
            { field: 24, values: [0n, 0n] },
            { field: 25, values: [0n, 1n] },
          ],
          strings: ["starved"],
        },
      }, {
        tick: 2n,
        deltaType: DeltaType.FULL,
        organismColumns: { id: [3n], columns: [{ field: 14, values: [9n] }] },
      }],
    }),
  );
  const lean = decodeLeanChunk(bytes);
  const at = (k: number) =>
    leanOrganismList(k === 0 ? lean.snapshot!.organisms : lean.deltas[k - 1]!.organisms)
      .map((o) => [o.id, o.energy, o.deathReason]);
  deepStrictEqual(at(0), [[1, 5, ""], [2, 7, ""]]);
  deepStrictEqual(at(1), [[2, 6, ""], [3, 4, "starved"]]);
  // A full delta stands alone: id 3 from zero, not from its previous 4.
  deepStrictEqual(at(2), [[3, 9, ""]]);
});

Deno.test("resolveLeanOrganisms() reads ids and values in pieces, packed or one varint each", () => {
  const w = new BinaryWriter();
  w.tag(1, WireType.Varint).uint32(zigzag(4)); // id 4
  w.tag(1, WireType.LengthDelimited).fork().uint32(zigzag(3)).uint32(zigzag(200)).join(); // 7, 207
  const column = new BinaryWriter().tag(1, WireType.Varint).int32(14)
    .tag(3, WireType.LengthDelimited).fork().uint32(zigzag(-70000)).join()
    .tag(3, WireType.Varint).uint32(zigzag(1))
    .tag(3, WireType.Varint).uint64(zigzag(2 ** 40)).finish();
  w.tag(2, WireType.LengthDelimited).bytes(column);
  const bytes = w.finish();
  const os = resolveLeanOrganisms(
    scanOrganismColumns(new Reader(bytes), bytes.length),
    NO_ORGANISMS,
  );
  deepStrictEqual([...os.id], [4, 7, 207]);
  deepStrictEqual([...os.energy], [-70000, 1, 2 ** 40]);
});

Deno.test("lean organism columns that do not fit are refused, naming the field and byte", () => {
  const chunk = (
    columns: { id: bigint[]; columns?: { field: number; values: bigint[] }[] } & {
      strings?: string[];
    },
  ) =>
    toBinary(
      TickDataChunkSchema,
      create(TickDataChunkSchema, { runId: "r", snapshot: { tick: 0n, organismColumns: columns } }),
    );
  const cases: [Uint8Array, RegExp][] = [
    [chunk({ id: [1n, 1n], columns: [{ field: 24, values: [1n] }] }), /field 24: 1 values for 2/],
    [chunk({ id: [5n, -1n] }), /ids do not ascend \(4 after 5\)/],
    [chunk({ id: [1n], columns: [{ field: 25, values: [2n] }], strings: ["x"] }), /string 2 of 1/],
    [chunk({ id: [1n], columns: [{ field: 99, values: [1n] }] }), /field 99, not an Organism/],
  ];
  for (const [bytes, message] of cases) {
    throws(
      () => decodeLeanChunk(bytes),
      (e: Error) => message.test(e.message) && / at byte \d+$/.test(e.message),
    );
  }
});

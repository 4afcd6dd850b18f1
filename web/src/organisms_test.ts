import assert from "node:assert/strict";
import type { OrganismSummary } from "./api.ts";
import { matches, sortOrganisms } from "./organisms.ts";
import { renderPipeline } from "./pipeline_panel.ts";
import { nearestIndex } from "./timeline.ts";

function org(id: number, o: Partial<OrganismSummary> = {}): OrganismSummary {
  return {
    id,
    parentId: 0,
    birthTick: 0,
    generation: 0,
    energy: 100,
    entropy: 0,
    ip: [0, 0],
    dv: [1, 0],
    genomeHash: 0xdeadbeef,
    bodySize: 10,
    children: 0,
    alive: true,
    lastInstruction: "NOP",
    lastFailed: false,
    ...o,
  };
}

Deno.test("filter by id prefix, exact id, generation, genome", () => {
  const a = org(12, { generation: 3, genomeHash: 0x1234abcd });
  assert.ok(matches(a, ""));
  assert.ok(matches(a, "1"));
  assert.ok(matches(a, "#12"));
  assert.ok(!matches(a, "#1"));
  assert.ok(matches(a, "g:3"));
  assert.ok(matches(a, "abcd"));
  assert.ok(!matches(a, "ffff"));
  assert.ok(matches(a, "ffff 12"), "any token may match");
});

Deno.test("sort by energy, age, generation; ties by id", () => {
  const list = [
    org(1, { energy: 5, birthTick: 100, generation: 2 }),
    org(2, { energy: 50, birthTick: 10, generation: 1 }),
    org(3, { energy: 50, birthTick: 50, generation: 2 }),
  ];
  assert.deepEqual(sortOrganisms([...list], "energy", true, 200).map((o) => o.id), [2, 3, 1]);
  assert.deepEqual(sortOrganisms([...list], "age", true, 200).map((o) => o.id), [2, 3, 1]);
  assert.deepEqual(sortOrganisms([...list], "generation", false, 200).map((o) => o.id), [2, 1, 3]);
  assert.deepEqual(sortOrganisms([...list], "id", true, 200).map((o) => o.id), [3, 2, 1]);
});

Deno.test("nearestIndex", () => {
  const ticks = [0, 10, 20, 30];
  assert.equal(nearestIndex([], 5), -1);
  assert.equal(nearestIndex(ticks, -5), 0);
  assert.equal(nearestIndex(ticks, 14), 1);
  assert.equal(nearestIndex(ticks, 16), 2);
  assert.equal(nearestIndex(ticks, 20), 2);
  assert.equal(nearestIndex(ticks, 99), 3);
});

Deno.test("pipeline panel escapes and lists services", () => {
  const html = renderPipeline({
    mode: "in-process",
    services: [{ name: "<x>", kind: "persistence", state: "running", metrics: { batches: 3 } }],
    resources: [{ name: "q", kind: "memory-queue", description: "d", stats: { lag: { a: 1 } } }],
  });
  assert.ok(html.includes("&lt;x&gt;"));
  assert.ok(!html.includes("<x>"));
  assert.ok(html.includes("batches"));
  assert.ok(html.includes("lag"));
});

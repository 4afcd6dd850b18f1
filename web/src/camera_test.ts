import assert from "node:assert/strict";
import { Camera, covers, regionParam } from "./camera.ts";

function camera(): Camera {
  const c = new Camera(200, 100);
  c.resize(400, 300);
  c.fit();
  return c;
}

Deno.test("fit shows the whole world", () => {
  const c = camera();
  assert.equal(c.scale, 2);
  assert.deepEqual(c.visibleRegion(), { x0: 0, y0: 0, x1: 200, y1: 100 });
  assert.deepEqual(c.cellAt(0, 50), [0, 0]);
  assert.deepEqual(c.cellAt(399, 249), [199, 99]);
  assert.equal(c.cellAt(10, 10), null); // above the world (letterbox)
});

Deno.test("zoom keeps the point under the cursor", () => {
  const c = camera();
  const before = c.cellAt(120, 130);
  c.zoomAt(4, 120, 130);
  assert.equal(c.scale, 8);
  assert.deepEqual(c.cellAt(120, 130), before);
  const r = c.visibleRegion();
  assert.ok(r.x1 - r.x0 <= 51 && r.y1 - r.y0 <= 39, regionParam(r));
});

Deno.test("pan moves the view and stays clamped", () => {
  const c = camera();
  c.zoomAt(8, 200, 150);
  const x = c.x;
  c.panBy(80, 0);
  assert.equal(c.x, x + 80 / c.scale);
  c.panBy(1e6, 1e6);
  const r = c.visibleRegion();
  assert.ok(r.x1 > r.x0 && r.y1 > r.y0, "part of the world stays visible");
  c.centreOn(10, 10);
  assert.deepEqual(c.cellAt(200, 150), [10, 10]);
});

Deno.test("screen and cell coordinates round-trip", () => {
  const c = camera();
  c.zoomAt(3, 0, 0);
  const [sx, sy] = c.toScreen(42, 17);
  assert.deepEqual(c.cellAt(sx + 0.1, sy + 0.1), [42, 17]);
});

Deno.test("covers", () => {
  assert.ok(covers({ x0: 0, y0: 0, x1: 10, y1: 10 }, { x0: 2, y0: 2, x1: 10, y1: 5 }));
  assert.ok(!covers({ x0: 0, y0: 0, x1: 10, y1: 10 }, { x0: 2, y0: 2, x1: 11, y1: 5 }));
});

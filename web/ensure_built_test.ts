import assert from "node:assert/strict";
import { join } from "node:path";
import { ensureWebBuilt, webBuildState } from "./ensure_built.ts";

async function touch(path: string, mtimeMs: number): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeTextFile(path, "x");
  await Deno.utime(path, mtimeMs / 1000, mtimeMs / 1000);
}

Deno.test("a build is missing without every output, stale when a source is newer, else fresh", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-web-state-" });
  try {
    const src = join(dir, "web");
    const out = join(dir, "dist");
    const t = Date.now() - 60_000;
    await touch(join(src, "src", "deep", "main.ts"), t);
    await touch(join(src, "index.html"), t);
    assert.equal(await webBuildState(out, src), "missing");
    await touch(join(out, "index.html"), t + 1000);
    await touch(join(out, "app.js"), t + 1000);
    assert.equal(await webBuildState(out, src), "missing", "app.css is missing");
    await touch(join(out, "app.css"), t + 1000);
    assert.equal(await webBuildState(out, src), "fresh");
    await touch(join(src, "src", "deep", "main.ts"), t + 2000);
    assert.equal(await webBuildState(out, src), "stale");
    assert.equal(await webBuildState(out, join(dir, "no-sources")), "fresh", "shipped only");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ensureWebBuilt builds a missing client once, then finds it fresh", async () => {
  const out = await Deno.makeTempDir({ prefix: "evochora-web-out-" });
  try {
    const logged: string[] = [];
    assert.equal(await ensureWebBuilt({ outDir: out, log: (m) => logged.push(m) }), "built");
    assert.match(logged[0]!, /building web\/dist \(not built yet\)/);
    for (const name of ["index.html", "app.js", "app.css"]) {
      assert.ok((await Deno.stat(join(out, name))).size > 0, name);
    }
    const names = [];
    for await (const e of Deno.readDir(out)) names.push(e.name);
    assert.ok(names.every((n) => !n.endsWith(".part")), "no half-moved files left");
    assert.equal(await ensureWebBuilt({ outDir: out, log: (m) => logged.push(m) }), "fresh");
    assert.equal(logged.length, 2, "nothing built the second time");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

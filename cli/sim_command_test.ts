import assert from "node:assert/strict";
import { evochora, lastJson } from "./_test_helpers.ts";

Deno.test("sim --json prints the summary as the last stdout line, same seed same hash", async () => {
  const a = await evochora("sim", "--ticks", "3000", "--shape", "256x64", "--seed", "9", "--json");
  const b = await evochora("sim", "--ticks", "3000", "--shape", "256x64", "--seed", "9", "--json");
  const c = await evochora("sim", "--ticks", "3000", "--shape", "256x64", "--seed", "10", "--json");
  assert.equal(a.code, 0, a.stderr);
  const ja = lastJson(a.stdout);
  for (
    const key of [
      "ticks",
      "organismsAlive",
      "organismsCreated",
      "maxGeneration",
      "distinctGenomes",
      "instructionsExecuted",
      "chunks",
      "chunkBytes",
      "chunkSha256",
    ]
  ) {
    assert.ok(key in ja, `missing ${key}`);
  }
  assert.equal(ja.ticks, 3000);
  assert.match(String(ja.chunkSha256), /^[0-9a-f]{64}$/);
  assert.equal(lastJson(b.stdout).chunkSha256, ja.chunkSha256);
  assert.notEqual(lastJson(c.stdout).chunkSha256, ja.chunkSha256);
});

Deno.test("sim --encoder worker gives the chunks --encoder inline gives, byte for byte", async () => {
  const args = ["sim", "--ticks", "3000", "--shape", "256x64", "--seed", "9", "--json"];
  const inline = lastJson((await evochora(...args, "--encoder", "inline")).stdout);
  const worker = lastJson((await evochora(...args, "--encoder", "worker")).stdout);
  assert.equal(inline.encoder, "inline");
  assert.equal(worker.encoder, "worker");
  assert.ok(Number(worker.chunks) > 5);
  for (const key of ["chunks", "chunkBytes", "chunkSha256", "instructionsExecuted"]) {
    assert.equal(worker[key], inline[key], key);
  }
});

const BAD_INPUT: [string[], RegExp][] = [
  [["sim", "--shape", "12xq"], /shape.*'12xq' is not a shape/],
  [["sim", "--shape", "2x2"], /shape\[0\].*expected 4\.\./],
  [["sim", "--ticks", "ten"], /--ticks expects a whole number, got 'ten'/],
  [["sim", "--seed=-1"], /--seed expects a whole number/],
  [["sim", "--topology", "sphere"], /--topology expects 'torus' or 'bounded'/],
  [["sim", "--encoder", "gpu"], /--encoder expects 'worker' or 'inline', got 'gpu'/],
  [["run", "--encoder", "gpu"], /--encoder expects 'worker' or 'inline', got 'gpu'/],
  [["sim", "--frobnicate"], /Unknown option '--frobnicate'/],
  [["sim", "--program", "/nonexistent/x.evo"], /Cannot read program '\/nonexistent\/x.evo'/],
  [["launch"], /unknown command 'launch'/],
];

for (const [args, pattern] of BAD_INPUT) {
  Deno.test(`'${args.join(" ")}' fails with a clear message and no stack trace`, async () => {
    const r = await evochora(...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  });
}

Deno.test("a malformed program is reported with file:line:column", async () => {
  const file = await Deno.makeTempFile({ suffix: ".evo" });
  await Deno.writeTextFile(file, "START:\n  SETI %DR0\n");
  const r = await evochora("sim", "--program", file, "--ticks", "1");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /\.evo:2:\d+: SETI expects 2 arguments/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  await Deno.remove(file);
});

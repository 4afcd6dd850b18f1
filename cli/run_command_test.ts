import assert from "node:assert/strict";
import { CLI_MAIN as MAIN, evochora, lastJson } from "./_test_helpers.ts";

Deno.test("run --json stores every chunk and names each persistence instance's share", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-run-" });
  const r = await evochora(
    "run",
    "--ticks",
    "3000",
    "--shape",
    "256x64",
    "--seed",
    "3",
    "--data-dir",
    dir,
    "--persistence",
    "2",
    "--json",
  );
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout);
  for (
    const k of ["runId", "ticks", "chunks", "batches", "rawBytes", "storedBytes", "deadLetters"]
  ) {
    assert.ok(k in s, `missing ${k}`);
  }
  assert.equal(s.ticks, 3000);
  assert.equal(s.deadLetters, 0);
  assert.equal(s.complete, true);
  const persistence = s.persistence as Record<string, { batches: number }>;
  assert.deepEqual(Object.keys(persistence).sort(), ["persistence-1", "persistence-2"]);
  const batches = Object.values(persistence).reduce((n, p) => n + p.batches, 0);
  assert.equal(batches, s.batches);
  const inspect = await evochora("inspect", "--data-dir", dir, "--json");
  assert.equal(inspect.code, 0, inspect.stdout + inspect.stderr);
  const report = lastJson(inspect.stdout) as {
    runs: { runId: string; state: string; batches: number; problems: string[] }[];
  };
  assert.equal(report.runs.length, 1);
  assert.equal(report.runs[0]!.runId, s.runId);
  assert.equal(report.runs[0]!.state, "finished");
  assert.deepEqual(report.runs[0]!.problems, []);
  assert.equal(report.runs[0]!.batches, s.batches);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("run exits only once every index file of the run is written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-run-indexed-" });
  const r = await evochora(
    "run",
    ...["--ticks", "20000", "--shape", "256x64", "--data-dir", dir, "--json"],
  );
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout) as {
    complete: boolean;
    state: string;
    batches: number;
    missing: string[];
    index: { rawBatches: number; files: Record<string, number>; lag: Record<string, number> };
  };
  assert.equal(s.complete, true);
  assert.equal(s.state, "finished");
  assert.deepEqual(s.missing, []);
  const files = await listFiles(dir);
  const raw = files.filter((f) => f.includes("/raw/") && f.endsWith(".pb.zst")).length;
  assert.ok(raw >= 8, `${raw} raw batches`);
  assert.equal(s.index.rawBatches, raw);
  for (const kind of ["stats", "organisms"]) {
    const n = files.filter((f) => f.includes(`/index/${kind}/`) && f.endsWith(".parquet")).length;
    assert.equal(n, raw, `${kind}: ${n} Parquet files for ${raw} raw batches`);
    assert.equal(s.index.files[kind], raw);
    assert.equal(s.index.lag[kind], 0);
  }
  const catalog = files.filter((f) => f.includes("/index/catalog/") && f.endsWith(".json"));
  assert.equal(catalog.length, raw);
  await Deno.remove(dir, { recursive: true });
});

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await listFiles(p));
    else out.push(p);
  }
  return out.sort();
}

Deno.test("inspect names the file and byte offset of a truncated or corrupted batch", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-inspect-" });
  const r = await evochora(
    "run",
    "--ticks",
    "2500",
    "--shape",
    "256x64",
    "--data-dir",
    dir,
    "--json",
  );
  assert.equal(r.code, 0, r.stderr);
  const batches = (await listFiles(dir)).filter((f) =>
    f.includes("/raw/") && f.endsWith(".pb.zst")
  );
  assert.ok(batches.length >= 2);
  const truncated = batches[0]!;
  const bytes = await Deno.readFile(truncated);
  await Deno.writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const flipped = batches[1]!;
  const other = await Deno.readFile(flipped);
  for (let i = 40; i < other.length; i += 97) other[i] = other[i]! ^ 0x5a;
  await Deno.writeFile(flipped, other);
  const inspect = await evochora("inspect", "--data-dir", dir);
  assert.equal(inspect.code, 1, inspect.stdout + inspect.stderr);
  const key = (f: string) => f.slice(dir.length + 1);
  assert.match(inspect.stdout, /: corrupt \(/);
  assert.ok(inspect.stdout.includes(key(truncated)), inspect.stdout);
  assert.ok(inspect.stdout.includes(key(flipped)), inspect.stdout);
  assert.match(inspect.stdout, /byte \d+/);
  assert.doesNotMatch(inspect.stdout + inspect.stderr, /\n\s+at /);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an unwritable data directory is a clear error, not a stack trace", async () => {
  const file = await Deno.makeTempFile();
  const r = await evochora("run", "--ticks", "10", "--data-dir", `${file}/data`);
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`${file}/data`), r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  await Deno.remove(file);
});

Deno.test("a bad config file is reported with the field that is wrong", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/bad.config.ts`;
  await Deno.writeTextFile(
    file,
    `export default { resources: { q: { kind: "kafka-ish" } }, services: {} };\n`,
  );
  const r = await evochora("run", "--config", file, "--ticks", "10");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Invalid config 'resources.q.kind': unknown kind "kafka-ish"/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("run --config runs the config's ticks; --ticks overrides them only when given", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-ticks-" });
  const configModule = new URL("../services/runner/config.ts", import.meta.url).href;
  const write = async (name: string, ticks: string) => {
    const file = `${dir}/${name}`;
    await Deno.writeTextFile(
      file,
      `import { defaultConfig } from "${configModule}";
export default defaultConfig({
  dataDir: "${dir}/data", persistence: 1, indexers: false, engine: { shape: [256, 64] },${ticks}
});
`,
    );
    return file;
  };
  const ticks200 = await write("ticks200.config.ts", " ticks: 200,");
  const own = await evochora("run", "--config", ticks200, "--json");
  assert.equal(own.code, 0, own.stderr);
  assert.equal(lastJson(own.stdout).ticks, 200);
  const flag = await evochora("run", "--config", ticks200, "--ticks", "30", "--json");
  assert.equal(flag.code, 0, flag.stderr);
  assert.equal(lastJson(flag.stdout).ticks, 30);
  // A config that sets no ticks runs run's default, not "until stopped".
  const unset = await evochora("run", "--config", await write("unset.config.ts", ""), "--json");
  assert.equal(unset.code, 0, unset.stderr);
  assert.equal(lastJson(unset.stdout).ticks, 10000);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SIGTERM stops a running pipeline cleanly and everything accepted is stored", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-sigterm-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      MAIN,
      "run",
      "--ticks",
      "0",
      "--shape",
      "256x64",
      "--data-dir",
      dir,
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  // Let it run until at least one batch is on disk.
  const deadline = Date.now() + 30000;
  const hasBatch = async () => {
    const found = await new Deno.Command("find", { args: [dir, "-name", "batch_*.pb.zst"] })
      .output();
    return new TextDecoder().decode(found.stdout).trim() !== "";
  };
  while (!(await hasBatch()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  child.kill("SIGTERM");
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const s = lastJson(stdout);
  assert.equal(s.complete, true);
  assert.ok((s.ticks as number) > 0);
  const inspect = await evochora("inspect", "--data-dir", dir, "--json");
  assert.equal(inspect.code, 0, inspect.stdout);
  const report = lastJson(inspect.stdout) as { runs: { lastTick: number; samples: number }[] };
  // Every chunk the engine produced before the signal, the partial last one included, is stored.
  assert.equal(report.runs[0]!.samples, report.runs[0]!.lastTick / 10 + 1);
  assert.ok(report.runs[0]!.lastTick >= (s.ticks as number) - 10);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("run --sampling N stores every Nth tick, and --resume refuses it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-run-sampling-" });
  const r = await evochora(
    "run",
    ...["--ticks", "2000", "--shape", "64x64", "--sampling", "4", "--data-dir", dir, "--json"],
  );
  assert.equal(r.code, 0, r.stderr);
  const runId = lastJson(r.stdout).runId as string;
  const inspect = await evochora("inspect", "--data-dir", dir, "--json");
  assert.equal(inspect.code, 0, inspect.stdout + inspect.stderr);
  const report = lastJson(inspect.stdout) as {
    runs: { samplingInterval: number | null; samples: number }[];
  };
  assert.equal(report.runs[0]!.samplingInterval, 4);
  assert.equal(report.runs[0]!.samples, 2000 / 4 + 1);
  const bad = await evochora("run", "--sampling", "0", "--data-dir", dir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--sampling must be at least 1, got '0'/);
  const resume = await evochora("run", "--resume", runId, "--sampling", "2", "--data-dir", dir);
  assert.equal(resume.code, 2);
  assert.match(resume.stderr, /--sampling cannot be combined with --resume/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("run --encoder worker stores and indexes the run as --encoder inline does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-run-encoder-" });
  const args = ["--ticks", "2000", "--shape", "64x64", "--seed", "5", "--data-dir", dir, "--json"];
  for (const encoder of ["worker", "inline"]) {
    const r = await evochora("run", ...args, "--encoder", encoder);
    assert.equal(r.code, 0, `${encoder}: ${r.stderr}`);
  }
  const inspect = await evochora("inspect", "--data-dir", dir, "--json");
  assert.equal(inspect.code, 0, inspect.stdout + inspect.stderr);
  const runs = (lastJson(inspect.stdout) as { runs: { samples: number; batches: number }[] }).runs;
  assert.equal(runs.length, 2);
  assert.deepEqual(runs[0]!.samples, 2000 / 10 + 1);
  assert.deepEqual([runs[1]!.samples, runs[1]!.batches], [runs[0]!.samples, runs[0]!.batches]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("run indexes only its own run, not earlier runs in the same data directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-run-own-index-" });
  const args = ["--ticks", "2000", "--shape", "64x64", "--data-dir", dir, "--json"];
  const first = await evochora("run", ...args);
  assert.equal(first.code, 0, first.stderr);
  const older = lastJson(first.stdout).runId as string;
  // As if the earlier run had been stored without indexers.
  await Deno.remove(`${dir}/runs/${older}/index`, { recursive: true });
  const second = await evochora("run", ...args);
  assert.equal(second.code, 0, second.stderr);
  const newer = lastJson(second.stdout).runId as string;
  const files = await listFiles(dir);
  const indexed = (run: string) => files.filter((f) => f.includes(`/runs/${run}/index/`)).length;
  assert.equal(indexed(older), 0);
  assert.ok(indexed(newer) > 0);
  await Deno.remove(dir, { recursive: true });
});

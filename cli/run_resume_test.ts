/**
 * `run --resume` end to end on the in-process pipeline: run A goes to T ticks uninterrupted;
 * run B (same seed and run id, another data directory) is killed with SIGKILL mid-run, resumed
 * and killed again, left with a half-written checkpoint, reads `incomplete`, and is resumed to T: every raw batch file, checkpoint and index file of B then
 * has A's key and bytes, and B reads `finished` (resuming it while it could still be running is
 * refused). A finished run extended to 2T equals a run of 2T from the start. Also: `--run-id`
 * refuses an existing run, `--resume` a missing one, and flags that would change the run.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { cliCommand } from "../tests/fixtures/cli_process.ts";
import { evochora } from "./_test_helpers.ts";
import { INSPECT_EXIT } from "./inspect_command.ts";

const RUN = "resume-test";
// Sampling 4: chunks of 200 ticks and batches of 1000, so that the kills land among 40 batches.
const ENGINE = ["--shape", "128x128", "--seed", "5", "--sampling", "4"];
const TICKS = "40000";

/** Every file under `dir/runs/<run>/<sub>`, relative path -> bytes. */
async function files(dir: string, sub: string, run = RUN): Promise<Map<string, Uint8Array>> {
  const root = join(dir, "runs", run, sub);
  const out = new Map<string, Uint8Array>();
  const walk = async (d: string): Promise<void> => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile && !e.name.startsWith(".")) {
        out.set(relative(root, p), await Deno.readFile(p));
      }
    }
  };
  try {
    await walk(root);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

/** `evochora run ...` with the task's permissions; exit code and stderr. */
async function run(...args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await cliCommand(["run", ...args], { stdout: "null" }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** Runs `evochora run <args>` until `dir` holds `raw` batches and `checkpoints`, then SIGKILLs it. */
async function killedRun(dir: string, args: string[], raw: number, checkpoints: number) {
  const child = cliCommand(["run", ...args, "--data-dir", dir], {
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 60000;
  for (;;) {
    const stored = await files(dir, "raw");
    const cps = await files(dir, "checkpoints");
    if ((stored.size >= raw && cps.size >= checkpoints) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  assert.equal((await child.status).signal, "SIGKILL");
}

function assertSameFiles(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>, what: string) {
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), `${what}: the same keys`);
  for (const [k, bytes] of a) assert.deepEqual(b.get(k), bytes, `${what}: '${k}' byte-identical`);
}

Deno.test("a run killed with SIGKILL and resumed stores the uninterrupted run's files byte for byte", async () => {
  const a = await Deno.makeTempDir({ prefix: "evochora-resume-a-" });
  const b = await Deno.makeTempDir({ prefix: "evochora-resume-b-" });
  try {
    const first = await run(...ENGINE, "--ticks", TICKS, "--run-id", RUN, "--data-dir", a);
    assert.equal(first.code, 0, first.stderr);

    // Two kill points: the first run, then its first resumption a few batches later.
    await killedRun(b, [...ENGINE, "--ticks", TICKS, "--run-id", RUN], 6, 6);
    const firstKill = (await files(b, "raw")).size;
    await killedRun(b, ["--resume", RUN, "--idle-after", "0"], firstKill + 4, 0);
    const rawAtKill = (await files(b, "raw")).size;
    assert.ok(rawAtKill > firstKill, "the resumed run stored more before its kill");
    assert.ok(rawAtKill < (await files(a, "raw")).size, "B was killed before its end");
    // A kill in the middle of writing a checkpoint leaves its temp file beside the final name.
    const half = (await files(b, "checkpoints")).values().next().value!.subarray(0, 100);
    const cpDir = join(b, "runs", RUN, "checkpoints");
    await Deno.writeFile(
      join(cpDir, ".ckpt_0000000000099999990.pb.zst.tmp~0123456789abcdef"),
      half,
    );
    // Idle means no progress for 3x the run's batch interval too (a fraction of a second here).
    await new Promise((r) => setTimeout(r, 1500));
    const killed = await evochora("inspect", "--data-dir", b, "--idle-after", "0");
    assert.equal(killed.code, INSPECT_EXIT.incomplete, killed.stdout + killed.stderr);
    assert.match(killed.stdout, new RegExp(`evochora run --resume ${RUN}`));

    // Within 120 s of its last progress the run may still have an engine: refused.
    const live = await run("--resume", RUN, "--ticks", TICKS, "--data-dir", b);
    assert.equal(live.code, 1, live.stderr);
    assert.match(live.stderr, /Cannot resume run 'resume-test': it is running/);
    // Without --ticks the run goes on to the target it was started with (not run's default).
    const resumed = await run("--resume", RUN, "--data-dir", b, "--idle-after", "0");
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /Resuming run resume-test from the checkpoint at tick \d+/);

    assertSameFiles(await files(a, "raw"), await files(b, "raw"), "raw batches");
    assertSameFiles(await files(a, "checkpoints"), await files(b, "checkpoints"), "checkpoints");
    assertSameFiles(await files(a, "index"), await files(b, "index"), "index files");
    // The end record names its writer and time: the same key, not the same bytes.
    assert.deepEqual([...(await files(b, "end")).keys()], [...(await files(a, "end")).keys()]);
    const done = await evochora("inspect", "--data-dir", b, "--leftover-age", "0");
    assert.equal(done.code, INSPECT_EXIT.finished, done.stdout + done.stderr);
    assert.match(done.stdout, /ckpt_0000000000099999990/, "inspect swept the half checkpoint");

    // A finished run: the same ticks again is nothing to do.
    const again = await run("--resume", RUN, "--ticks", TICKS, "--data-dir", b);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /is finished; nothing to resume/);
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("a finished run extended with --resume ID --ticks 2T stores what a run of 2T ticks from the start does", async () => {
  // T ends inside a batch (batches hold 2500 ticks here), so the short last batch, its index
  // files, the final checkpoint and the end record are taken back and written again longer.
  const short = ["--shape", "64x64", "--seed", "9", "--run-id", RUN];
  const a = await Deno.makeTempDir({ prefix: "evochora-extend-a-" });
  const b = await Deno.makeTempDir({ prefix: "evochora-extend-b-" });
  try {
    const whole = await run(...short, "--ticks", "6400", "--data-dir", a);
    assert.equal(whole.code, 0, whole.stderr);
    const first = await run(...short, "--ticks", "3200", "--data-dir", b);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(
      [...(await files(b, "raw")).keys()].some((k) => k.endsWith("_0000000000000003200.pb.zst")),
    );

    const extended = await run("--resume", RUN, "--ticks", "6400", "--data-dir", b);
    assert.equal(extended.code, 0, extended.stderr);
    assert.match(
      extended.stderr,
      /Extending run resume-test \(it ended at tick 3200; \d+ files stored after the checkpoint taken back\) from the checkpoint at tick 2490/,
    );
    assertSameFiles(await files(a, "raw"), await files(b, "raw"), "raw batches");
    assertSameFiles(await files(a, "checkpoints"), await files(b, "checkpoints"), "checkpoints");
    assertSameFiles(await files(a, "index"), await files(b, "index"), "index files");
    assert.deepEqual([...(await files(b, "end")).keys()], [...(await files(a, "end")).keys()]);
    const done = await evochora("inspect", "--data-dir", b);
    assert.equal(done.code, INSPECT_EXIT.finished, done.stdout + done.stderr);
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("--run-id refuses an existing run; --resume refuses a missing run and changing flags", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-runid-" });
  try {
    const ok = await run(
      "--shape",
      "64x64",
      "--ticks",
      "500",
      "--run-id",
      "named",
      "--data-dir",
      dir,
    );
    assert.equal(ok.code, 0, ok.stderr);
    const twice = await run("--ticks", "500", "--run-id", "named", "--data-dir", dir);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /--run-id 'named': .* holds that run already; continue it with/);
    const bad = await run("--run-id", "a/b", "--data-dir", dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--run-id 'a\/b': expected 1-128 characters/);
    const missing = await run("--resume", "nope", "--data-dir", dir);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot resume run 'nope': 'runs\/nope\/metadata.pb' is missing/);
    const seed = await run("--resume", "named", "--seed", "3", "--data-dir", dir);
    assert.equal(seed.code, 2);
    assert.match(seed.stderr, /--seed cannot be combined with --resume/);
    // Extending the finished run would take its last batch back from storage: a bad flag is
    // refused before that, not after.
    const stored = await files(dir, "", "named");
    const late = await run(
      ...["--resume", "named", "--ticks", "1000", "--drain-timeout", "soon", "--data-dir", dir],
    );
    assert.equal(late.code, 2);
    assert.match(late.stderr, /--drain-timeout/);
    assertSameFiles(stored, await files(dir, "", "named"), "the run after a refused extension");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Run states end to end: a `run` killed with SIGKILL mid-way reads `incomplete` in `inspect`
 * (its exit code and resume line) and in the API; a completed run reads `finished`; `inspect`
 * sweeps and reports crash leftovers; `runs` lists and `delete` removes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FilesystemStorage } from "../resources/storage/filesystem_storage.ts";
import { createApp } from "../services/api/app.ts";
import type { RunDetail, RunsResponse } from "../services/api/api_types.ts";
import { cliCommand } from "../tests/fixtures/cli_process.ts";
import { evochora, lastJson } from "./_test_helpers.ts";
import { INSPECT_EXIT } from "./inspect_command.ts";

interface InspectJson {
  runs: {
    runId: string;
    state: string;
    firstTick: number | null;
    lastTick: number | null;
    batches: number;
    problems: string[];
  }[];
  swept: { key: string; kind: string }[];
}

async function batchFiles(dir: string): Promise<string[]> {
  const found = await new Deno.Command("find", { args: [dir, "-name", "batch_*.pb.zst"] })
    .output();
  return new TextDecoder().decode(found.stdout).split("\n").filter((l) => l !== "");
}

/** Starts `run --ticks 0` (until stopped) into `dir`, waits for `batches` batches, SIGKILLs it. */
async function killedRun(dir: string, batches: number): Promise<void> {
  const child = cliCommand(
    ["run", "--ticks", "0", "--shape", "256x64", "--seed", "9", "--data-dir", dir],
    { stdout: "null", stderr: "null" },
  ).spawn();
  const deadline = Date.now() + 60000;
  while ((await batchFiles(dir)).length < batches && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL");
  assert.ok((await batchFiles(dir)).length >= batches, "the run stored batches before the kill");
}

Deno.test("a run killed with SIGKILL reads incomplete in inspect and the API; a completed one finished", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-killed-" });
  try {
    await killedRun(dir, 4);
    // Right after the kill it is indistinguishable from a run that is still going.
    const fresh = await evochora("inspect", "--data-dir", dir, "--json");
    assert.equal(fresh.code, INSPECT_EXIT.running, fresh.stdout + fresh.stderr);
    // No progress for longer than the idle threshold (0 s here): the run died.
    const text = await evochora("inspect", "--data-dir", dir, "--idle-after", "0");
    assert.equal(text.code, INSPECT_EXIT.incomplete, text.stdout + text.stderr);
    assert.equal(INSPECT_EXIT.incomplete, 3);
    const json = lastJson(
      (await evochora("inspect", "--data-dir", dir, "--idle-after", "0", "--json")).stdout,
    ) as unknown as InspectJson;
    const killed = json.runs[0]!;
    assert.equal(killed.state, "incomplete");
    assert.equal(killed.firstTick, 0);
    assert.ok(killed.lastTick! > 0);
    assert.ok(killed.batches >= 4);
    assert.deepEqual(killed.problems, []);
    assert.match(
      text.stdout,
      new RegExp(
        `${killed.runId}: .*: incomplete \\(no end record, no progress for \\d+ s; last stored tick ${killed.lastTick}\\)`,
      ),
    );
    assert.ok(
      text.stdout.includes(
        `last stored tick: ${killed.lastTick}; to continue it: evochora run --resume ${killed.runId}`,
      ),
      text.stdout,
    );
    // The API says the same.
    const storage = await FilesystemStorage.open({ root: dir });
    try {
      const api = createApp({ storage, idleAfterMs: 0 });
      const detail = await (await api.request(`/api/runs/${killed.runId}`)).json() as RunDetail;
      assert.equal(detail.state, "incomplete");
      assert.equal(detail.endTick, null);
      // A completed run beside it reads finished.
      const done = await evochora(
        "run",
        ...["--ticks", "1000", "--shape", "256x64", "--data-dir", dir, "--json"],
      );
      assert.equal(done.code, 0, done.stderr);
      const finishedId = lastJson(done.stdout).runId as string;
      const list = await (await createApp({ storage, idleAfterMs: 0 }).request("/api/runs"))
        .json() as RunsResponse;
      const states = Object.fromEntries(list.runs.map((r) => [r.runId, r.state]));
      assert.deepEqual(states, { [killed.runId]: "incomplete", [finishedId]: "finished" });
      const only = await evochora("inspect", "--data-dir", dir, "--run", finishedId);
      assert.equal(only.code, 0, only.stdout);
      assert.match(only.stdout, /: finished \(ended at tick 1000\)/);
      const both = await evochora("inspect", "--data-dir", dir, "--idle-after", "0");
      assert.equal(both.code, INSPECT_EXIT.incomplete, "the worst state decides");
    } finally {
      await storage.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inspect sweeps temp files a killed writer left and says what it swept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-leftovers-" });
  try {
    const done = await evochora("run", "--ticks", "500", "--shape", "256x64", "--data-dir", dir);
    assert.equal(done.code, 0, done.stderr);
    const storage = await FilesystemStorage.open({ root: dir });
    const [run] = [...Deno.readDirSync(join(dir, "runs"))].map((e) => e.name);
    const w = await storage.openWriter(`runs/${run}/raw/0000000/batch_x.pb.zst`);
    await w.write(new Uint8Array(2 * 1024 * 1024)); // a writer killed mid-write
    const temp = [...Deno.readDirSync(join(dir, "runs", run!, "raw", "0000000"))]
      .find((e) => e.name.includes(".tmp~"))!.name;
    const hourAgo = new Date(Date.now() - 3_600_000);
    await Deno.utime(join(dir, "runs", run!, "raw", "0000000", temp), hourAgo, hourAgo);
    const inspect = await evochora("inspect", "--data-dir", dir);
    assert.equal(inspect.code, 0, inspect.stdout + inspect.stderr);
    assert.match(
      inspect.stdout,
      new RegExp(
        `Swept 1 crash leftover:\\n  - temp file of 'runs/${run}/raw/0000000/batch_x\\.pb\\.zst' \\(untouched for 1 h, 2\\.1 MB\\)`,
      ),
    );
    const again = lastJson((await evochora("inspect", "--data-dir", dir, "--json")).stdout);
    assert.deepEqual(again.swept, [], "nothing left to sweep");
    await w.abort();
    await storage.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

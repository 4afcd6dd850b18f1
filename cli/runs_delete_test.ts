import assert from "node:assert/strict";
import { FilesystemStorage } from "../resources/storage/filesystem_storage.ts";
import { runEndKey } from "../services/common/storage_layout.ts";
import { evochora, lastJson } from "./_test_helpers.ts";
import { objectKind } from "./delete_command.ts";

interface RunsJson {
  runs: {
    runId: string;
    state: string;
    firstTick: number;
    lastTick: number;
    batches: number;
    storedBytes: number;
    lastActivityMs: number;
  }[];
}

/** Two finished runs of `ticks` ticks in a fresh directory; their ids, oldest first. */
async function twoRuns(dir: string, ticks: number): Promise<string[]> {
  const ids: string[] = [];
  for (const seed of ["1", "2"]) {
    const r = await evochora(
      "run",
      ...["--ticks", String(ticks), "--shape", "256x64", "--seed", seed, "--data-dir", dir],
      "--json",
    );
    assert.equal(r.code, 0, r.stderr);
    ids.push(lastJson(r.stdout).runId as string);
  }
  return ids;
}

Deno.test("runs lists each run with its state, ticks, batches, stored bytes and last activity", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-runs-" });
  try {
    const [a, b] = await twoRuns(dir, 1000);
    const json = lastJson(
      (await evochora("runs", "--data-dir", dir, "--json")).stdout,
    ) as unknown as RunsJson;
    assert.deepEqual(json.runs.map((r) => r.runId), [a, b].sort());
    for (const r of json.runs) {
      assert.equal(r.state, "finished");
      assert.deepEqual([r.firstTick, r.lastTick], [0, 1000]);
      assert.ok(r.batches > 0 && r.storedBytes > 0);
      assert.ok(Date.now() - r.lastActivityMs < 120_000);
    }
    const text = await evochora("runs", "--data-dir", dir);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^RUN +STATE +TICKS +BATCHES +STORED +LAST ACTIVITY$/m);
    assert.match(
      text.stdout,
      new RegExp(`^${a} +finished +0\\.\\.1000 +\\d+ +\\d+\\.\\d MB +\\d+ s ago$`, "m"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("delete removes everything of a run and says what, only with --yes, and refuses a running run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-delete-" });
  try {
    const [a, b] = await twoRuns(dir, 1000);
    const dry = await evochora("delete", a!, "--data-dir", dir);
    assert.equal(dry.code, 2);
    assert.match(dry.stderr, /would remove run '.*' \(finished\): \d+ objects, .* pass --yes/);
    const gone = await evochora("delete", a!, "--yes", "--data-dir", dir, "--json");
    assert.equal(gone.code, 0, gone.stderr);
    const removal = lastJson(gone.stdout) as { removed: Record<string, number>; objects: number };
    assert.equal(removal.removed.metadata, 1);
    assert.equal(removal.removed.end, 1);
    assert.ok(removal.removed.raw! > 0 && removal.removed.index! > 0);
    const runs = lastJson(
      (await evochora("runs", "--data-dir", dir, "--json")).stdout,
    ) as unknown as RunsJson;
    assert.deepEqual(runs.runs.map((r) => r.runId), [b]);
    const again = await evochora("delete", a!, "--yes", "--data-dir", dir);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /no run '.*' in /);
    // Without its end record and with fresh files, the other run reads as running: refused.
    const storage = await FilesystemStorage.open({ root: dir });
    assert.equal(await storage.delete(runEndKey(b!, 1000)), true);
    await storage.close();
    const busy = await evochora("delete", b!, "--yes", "--data-dir", dir);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /run '.*' is running \(.*\); stop it first.*nothing removed/);
    // Once idle (0 s here), it is incomplete and may go.
    const text = await evochora("delete", b!, "--yes", "--idle-after", "0", "--data-dir", dir);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^Removed run '.*' from .*: \d+ raw batch(es)?, 1 metadata, 1 tick target, \d+ checkpoints?, \d+ index files \(\d+ objects, \d+\.\d MB\)$/m,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no empty directories are left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("delete names every kind of a run's objects", () => {
  const k = (rest: string) => objectKind("r", `runs/r/${rest}`);
  assert.equal(k("metadata.pb"), "metadata");
  assert.equal(k("raw/0000000/batch_1_2.pb.zst"), "raw");
  assert.equal(k("end/end_0000000000000000002.pb"), "end");
  assert.equal(k("checkpoints/c.pb"), "checkpoints");
  assert.equal(k("index/stats/x.parquet"), "index");
  assert.equal(k("dead-letter/d.pb"), "dead-letter");
  assert.equal(k("notes.txt"), "other");
});

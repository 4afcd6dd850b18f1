/**
 * `evochora inspect --config F` on a run stored in the S3 bucket F names: it verifies the run
 * from the objects alone and reports it finished. The servers come from
 * `deno task services:up` (CI starts them); without them this test fails.
 */
import assert from "node:assert/strict";
import { cliCommand } from "../fixtures/cli_process.ts";
import { simulateOnS3 } from "../fixtures/s3_run.ts";

Deno.test({
  name: "inspect --config verifies a run stored in the S3 bucket and reads it finished",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const run = await simulateOnS3({
      tag: `inspect-${Date.now().toString(36)}`,
      ticks: 1500,
      engine: { shape: [128, 64], seed: 9, intervals: { sampling: 5, snapshot: 10 } },
    });
    try {
      const out = await cliCommand(["inspect", "--config", run.configFile, "--json"], {
        env: run.env,
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `inspect exits 0 for a finished run:\n${stdout}\n${stderr}`);
      const report = JSON.parse(stdout.trim().split("\n").pop()!) as {
        runs: { runId: string; state: string; lastTick: number; problems: string[] }[];
      };
      assert.equal(report.runs.length, 1, "the prefix holds this run only");
      const [r] = report.runs;
      assert.equal(r!.runId, run.runId);
      assert.equal(r!.state, "finished");
      assert.equal(r!.lastTick, 1500);
      assert.deepEqual(r!.problems, []);
    } finally {
      await run.remove();
    }
  },
});

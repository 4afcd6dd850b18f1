/// <reference lib="dom" />
/**
 * The web client in headless Chromium on a run stored in S3: the in-process pipeline writes a
 * short simulation into the test bucket under a prefix of its own (tests/fixtures/s3_run.ts,
 * which also writes a copy of config/kafka-s3.config.ts naming that prefix), and
 * `evochora serve --config <that file>` runs as a child process, taking its storage and API
 * settings (port 0) from the file. The page must show the run as web_client_test.ts checks it
 * for a data directory: the run, its seed and shape, finished, and a painted world. The
 * servers come from `deno task services:up`; without them, or without Chromium, it fails.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { S3Storage } from "../../resources/storage/s3_storage.ts";
import { buildWeb } from "../../web/build.ts";
import { simulateOnS3 } from "../fixtures/s3_run.ts";
import { startServeArgs } from "../fixtures/serve_process.ts";
import {
  type Hook,
  launch,
  OUT_DIR,
  paintedWorldPixels,
  requireChromium,
  waitReady,
} from "./chromium_page.ts";
import { ensureIndexed } from "./server.ts";

Deno.test({
  name: "web client in headless Chromium shows a run stored in S3, served by serve --config",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await requireChromium();
    const tmp = await Deno.makeTempDir({ prefix: "evochora-web-s3-test-" });
    const webRoot = join(tmp, "web");
    await buildWeb({ outDir: webRoot });
    const run = await simulateOnS3({
      tag: `web-${Date.now().toString(36)}`,
      ticks: 3000,
      engine: { shape: [256, 128], seed: 3 },
      webRoot,
    });
    const storage = await S3Storage.open({
      bucket: Deno.env.get("EVOCHORA_S3_BUCKET")!,
      prefix: run.prefix,
    });
    let server: Awaited<ReturnType<typeof startServeArgs>> | undefined;
    let browser: Awaited<ReturnType<typeof launch>> | undefined;
    try {
      await ensureIndexed(storage, run.runId);
      // No --port: the config's http-api says 0, so a free port proves its settings apply.
      server = await startServeArgs(["--config", run.configFile]);
      assert.doesNotMatch(server.url, /:8080$/, "the port of the config's http-api (0)");
      browser = await launch(join(tmp, "profile"));
      const { page, errors } = browser;
      await page.goto(`${server.url}/`);

      const h = await waitReady(page, "first load");
      assert.equal(h.error, "", `status bar shows an error: ${h.error}`);
      assert.equal(h.runId, run.runId);
      assert.ok(h.samples > 10, `only ${h.samples} samples`);
      assert.ok(h.tick > 0);
      assert.equal(await page.getByTestId("tick-label").textContent(), String(h.tick));
      const header = await page.getByTestId("run-header").textContent();
      assert.match(header ?? "", /seed\s*3/);
      assert.match(header ?? "", /256×128/);
      assert.equal(await page.getByTestId("run-state").textContent(), "finished");
      const px = await paintedWorldPixels(page);
      assert.ok(px.painted > 200, `world canvas: ${px.painted} of ${px.total} pixels painted`);
      await page.getByTestId("organism-row").first().waitFor();
      // The charts read the stats index from the bucket.
      await page.waitForFunction(
        () => (globalThis as unknown as { __evochora: Hook }).__evochora.chartPoints > 10,
        null,
        { timeout: 20000 },
      );

      await Deno.mkdir(OUT_DIR, { recursive: true });
      await page.screenshot({ path: join(OUT_DIR, "web_client_s3.png") });
      assert.deepEqual(errors, []);
    } finally {
      await browser?.context.close();
      await server?.stop();
      await storage.close();
      await run.remove();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});

/// <reference lib="dom" />
/**
 * The web client in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
 * against the REAL query API: the test runs the in-process pipeline for a short simulation
 * into a temporary data directory, builds the client (web/build.ts) into a temporary web root,
 * serves both with the API's app (services/api/mod.ts) on 127.0.0.1, and checks what a user
 * sees: a painted world, a moving timeline, the organism inspector (from a list row and from
 * a click on the canvas), chart data and the pipeline panel. A screenshot goes to
 * tests/browser/out/web_client.png.
 *
 * Without Chromium the test FAILS (it never skips): install it with `apt-get install chromium`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { startLivePipeline, startWebTestServer } from "./server.ts";
import { buildWeb } from "../../web/build.ts";
import {
  type Hook,
  hook,
  launch,
  OUT_DIR,
  paintedWorldPixels,
  requireChromium,
  waitReady,
} from "./chromium_page.ts";

/** Non-transparent pixels on the charts' canvases (uPlot draws on a transparent canvas). */
function drawnChartPixels(page: Page): Promise<number> {
  return page.evaluate(() => {
    let n = 0;
    for (const c of document.querySelectorAll<HTMLCanvasElement>('[data-testid="chart"] canvas')) {
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
    }
    return n;
  });
}

Deno.test({
  name: "web client in headless Chromium against the real API",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await requireChromium();
    const tmp = await Deno.makeTempDir({ prefix: "evochora-web-test-" });
    const webRoot = join(tmp, "web");
    await buildWeb({ outDir: webRoot });
    const server = await startWebTestServer({ dataDir: join(tmp, "data"), webRoot });
    const { context, page, errors: pageErrors } = await launch(join(tmp, "profile"));
    try {
      await page.goto(server.url);

      // Loaded: the newest run at its newest sample, no error in the status bar.
      let h = await waitReady(page, "first load");
      assert.equal(h.error, "", `status bar shows an error: ${h.error}`);
      assert.equal(h.runId, server.runId);
      assert.ok(h.samples > 10, `only ${h.samples} samples`);
      assert.ok(h.tick > 0);
      assert.equal(await page.getByTestId("tick-label").textContent(), String(h.tick));
      const header = await page.getByTestId("run-header").textContent();
      assert.match(header ?? "", /seed\s*3/);
      assert.match(header ?? "", /256×128/);
      // The run's state from storage: this one ended, so its live stream ended too.
      assert.equal(await page.getByTestId("run-state").textContent(), "finished");
      await page.getByTestId("live-info").filter({ hasText: "finished at tick" }).waitFor();

      // The world canvas shows molecules.
      const px = await paintedWorldPixels(page);
      assert.ok(px.painted > 200, `world canvas: ${px.painted} of ${px.total} pixels painted`);

      // Timeline: step back with the keyboard, then play, then pause.
      const last = h.tick;
      await page.getByTestId("world-canvas").focus();
      await page.keyboard.press(",");
      h = await waitReady(page, "step back");
      assert.ok(h.tick < last, `step back: tick ${h.tick}, was ${last}`);
      assert.equal(await page.getByTestId("tick-label").textContent(), String(h.tick));
      await page.keyboard.press("Home");
      h = await waitReady(page, "Home");
      const first = h.tick;
      await page.getByTestId("play-button").click();
      await page.waitForFunction(
        (t) => (globalThis as unknown as { __evochora: Hook }).__evochora.tick > t,
        first,
        { timeout: 10000 },
      );
      await page.getByTestId("play-button").click();
      h = await waitReady(page, "pause");
      assert.ok(!h.playing, "paused");
      assert.ok(h.tick > first, `play moved the tick from ${first} to ${h.tick}`);
      assert.equal(await page.getByTestId("tick-label").textContent(), String(h.tick));
      const sliderValue = Number(await page.getByTestId("timeline-slider").inputValue());
      assert.ok(sliderValue > 0, "the slider moved with the tick");
      await page.keyboard.press("End");
      h = await waitReady(page, "End");
      assert.equal(h.tick, last);

      // The organism list: clicking a row opens the inspector with its registers.
      const rows = page.getByTestId("organism-row");
      await rows.first().waitFor();
      assert.ok(await rows.count() > 0, "no organism rows");
      const rowId = Number(await rows.first().getAttribute("data-id"));
      await rows.first().click();
      await page.getByTestId("inspector-panel").waitFor({ state: "visible" });
      await page.waitForFunction(
        (id) => (globalThis as unknown as { __evochora: Hook }).__evochora.inspectorId === id,
        rowId,
        { timeout: 10000 },
      );
      const registers = await page.getByTestId("registers").textContent();
      assert.match(registers ?? "", /DR0/);
      assert.match(registers ?? "", /DR7/);
      assert.match(registers ?? "", /LR0/);
      assert.match(
        await page.getByTestId("inspector-panel").textContent() ?? "",
        new RegExp(`Organism #${rowId}\\b`),
      );

      // Clicking an organism's cell on the canvas selects it: centre on the selected one (i),
      // close the inspector (Esc), click its IP cell.
      const organisms = await (await fetch(
        `${server.url}api/runs/${server.runId}/organisms/${last}`,
      )).json() as { organisms: { id: number; ip: number[]; alive: boolean }[] };
      const target = organisms.organisms.find((o) => o.id === rowId)!;
      await page.getByTestId("world-canvas").focus();
      await page.keyboard.press("i");
      await page.keyboard.press("Escape");
      await page.waitForFunction(
        () => (globalThis as unknown as { __evochora: Hook }).__evochora.inspectorId === null,
      );
      await page.getByTestId("inspector-panel").waitFor({ state: "hidden" });
      await page.waitForTimeout(400); // the debounced region fetch after the move
      await waitReady(page, "centre");
      const [cx, cy] = await page.evaluate(
        ([x, y]) =>
          (globalThis as unknown as {
            __evochora: { screenOf(x: number, y: number): [number, number] };
          }).__evochora.screenOf(x!, y!),
        target.ip,
      );
      await page.mouse.move(cx, cy);
      await page.getByTestId("tooltip").waitFor({ state: "visible" });
      const tip = await page.getByTestId("tooltip").textContent();
      assert.match(tip ?? "", new RegExp(`${target.ip[0]}\\|${target.ip[1]}`));
      await page.mouse.click(cx, cy);
      await page.getByTestId("inspector-panel").waitFor({ state: "visible" });
      await page.waitForFunction(
        (id) => (globalThis as unknown as { __evochora: Hook }).__evochora.inspectorId === id,
        target.id,
        { timeout: 10000 },
      );
      assert.match(await page.getByTestId("registers").textContent() ?? "", /DR0/);

      // Charts have data and drew it.
      await page.waitForFunction(
        () => (globalThis as unknown as { __evochora: Hook }).__evochora.chartPoints > 0,
        null,
        { timeout: 20000 },
      );
      h = await hook(page);
      assert.ok(h.chartPoints > 10, `charts have ${h.chartPoints} points`);
      assert.ok(await page.getByTestId("chart").count() >= 1);
      assert.ok(await drawnChartPixels(page) > 100, "charts drew nothing");

      // Screenshot of the whole client with an organism selected.
      await Deno.mkdir(OUT_DIR, { recursive: true });
      await page.screenshot({ path: join(OUT_DIR, "web_client.png") });

      // Pipeline panel.
      await page.keyboard.press("p");
      const panel = page.getByTestId("pipeline-panel");
      await panel.waitFor({ state: "visible" });
      await page.waitForFunction(() =>
        /mode:/.test(document.querySelector('[data-testid="pipeline-panel"]')?.textContent ?? "")
      );
      await page.screenshot({ path: join(OUT_DIR, "web_client_pipeline.png") });
      await page.keyboard.press("Escape");
      await panel.waitFor({ state: "hidden" });

      h = await hook(page);
      assert.equal(h.error, "", `status bar shows an error: ${h.error}`);
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
      await server.close();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "web client follows a running simulation (live mode, in-process pipeline + API)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await requireChromium();
    const tmp = await Deno.makeTempDir({ prefix: "evochora-web-live-test-" });
    const webRoot = join(tmp, "web");
    await buildWeb({ outDir: webRoot });
    const server = await startLivePipeline({
      dataDir: join(tmp, "data"),
      webRoot,
      ticks: 1_000_000,
    });
    const { context, page, errors } = await launch(join(tmp, "profile"));
    try {
      await page.goto(server.url);
      // The page may open before the first batch is stored; it polls for runs.
      await page.waitForFunction(
        (run) => {
          const h = (globalThis as unknown as { __evochora?: Hook }).__evochora;
          return h?.runId === run && h.ready && h.samples > 0;
        },
        server.runId,
        { timeout: 30000 },
      );
      let h = await hook(page);
      assert.ok(await page.getByTestId("live-toggle").isChecked(), "live is on for the newest run");
      assert.ok(await page.getByTestId("follow-toggle").isChecked(), "follow is on");
      const { samples, tick } = h;
      // New batches extend the timeline and follow moves to the newest sample.
      await page.waitForFunction(
        ([s, t]) => {
          const h = (globalThis as unknown as { __evochora: Hook }).__evochora;
          return h.samples > s! && h.tick > t!;
        },
        [samples, tick],
        { timeout: 30000 },
      );
      await page.getByTestId("live-info").filter({ hasText: "t/s" }).waitFor();
      assert.equal(await page.getByTestId("run-state").textContent(), "running");
      const [label, hookTick] = await page.evaluate(() => [
        document.querySelector('[data-testid="tick-label"]')?.textContent,
        (globalThis as unknown as { __evochora: Hook }).__evochora.tick,
      ]);
      assert.equal(label, String(hookTick));
      // Going back in time turns follow off and stays there.
      await page.getByTestId("world-canvas").focus();
      await page.keyboard.press("Home");
      h = await waitReady(page, "Home while live");
      assert.ok(!(await page.getByTestId("follow-toggle").isChecked()), "follow is off");
      const back = h.tick;
      await page.waitForTimeout(1500);
      assert.equal((await hook(page)).tick, back, "without follow the tick stays");
      // The pipeline panel shows the running services.
      await page.keyboard.press("p");
      await page.waitForFunction(
        () => {
          const t = document.querySelector('[data-testid="pipeline-panel"]')?.textContent ?? "";
          return /in-process/.test(t) && /simulation-engine/.test(t) && /persistence-1/.test(t);
        },
        null,
        { timeout: 10000 },
      );
      await Deno.mkdir(OUT_DIR, { recursive: true });
      await page.screenshot({ path: join(OUT_DIR, "web_client_live.png") });
      h = await hook(page);
      assert.equal(h.error, "", `status bar shows an error: ${h.error}`);
      // A young run may have no stats index for a moment: its 404 is expected, nothing else.
      assert.deepEqual(
        errors.filter((e) => !/status of 404/.test(e)),
        [],
      );
    } finally {
      await context.close();
      await server.close();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});

/// <reference lib="dom" />
/**
 * Driving the web client in headless Chromium (Debian's /usr/bin/chromium, or
 * EVOCHORA_CHROMIUM) with playwright-core: launching it, the client's test hook, and what the
 * world canvas shows. Shared by the browser tests.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { chromium, type Page } from "playwright-core";
import type { EvochoraHook } from "../../web/src/test_hook.ts";

const CHROMIUM = Deno.env.get("EVOCHORA_CHROMIUM") ?? "/usr/bin/chromium";
/** Where screenshots go: tests/browser/out/. */
export const OUT_DIR = fileURLToPath(new URL("./out/", import.meta.url));
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** Background colours of the world view: outside the world, and empty cells. */
const OUTSIDE = [7, 9, 13];
const EMPTY = [14, 17, 23];

/** Throws, saying how to install it, when Chromium is missing. */
export async function requireChromium(): Promise<void> {
  try {
    const info = await Deno.stat(CHROMIUM);
    if (info.isFile) return;
  } catch {
    // fall through
  }
  throw new Error(
    `Chromium is not installed at ${CHROMIUM}; the browser test needs it. Install it with ` +
      "`apt-get install chromium` (Debian; as root, after `apt-get update`), or point " +
      "EVOCHORA_CHROMIUM at a Chromium binary.",
  );
}

/** The client's test hook (`globalThis.__evochora`) as a copy carries it: its data, no methods. */
export type Hook = Omit<EvochoraHook, "screenOf">;

/** A copy of the client's test hook. */
export function hook(page: Page): Promise<Hook> {
  return page.evaluate(() => {
    const h = (globalThis as unknown as { __evochora: Hook }).__evochora;
    return JSON.parse(JSON.stringify(h)) as Hook;
  });
}

/** Waits until the client is ready (data loaded, nothing pending); the hook then. */
export async function waitReady(page: Page, what: string): Promise<Hook> {
  try {
    await page.waitForFunction(
      () => (globalThis as unknown as { __evochora?: Hook }).__evochora?.ready === true,
      null,
      { timeout: 20000 },
    );
  } catch (e) {
    const status = await page.locator('[data-testid="status-bar"]').textContent();
    throw new Error(`${what}: the client did not get ready; status bar: '${status}'. ${e}`);
  }
  return await hook(page);
}

/** Pixels of the world canvas that are neither outside the world nor empty cells. */
export function paintedWorldPixels(page: Page): Promise<{ painted: number; total: number }> {
  return page.evaluate(([outside, empty]) => {
    const c = document.querySelector<HTMLCanvasElement>('[data-testid="world-canvas"]')!;
    const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    const near = (i: number, rgb: number[]) =>
      Math.abs(data[i]! - rgb[0]!) + Math.abs(data[i + 1]! - rgb[1]!) +
          Math.abs(data[i + 2]! - rgb[2]!) < 6;
    for (let i = 0; i < data.length; i += 4) {
      if (!near(i, outside!) && !near(i, empty!)) painted++;
    }
    return { painted, total: data.length / 4 };
  }, [OUTSIDE, EMPTY]);
}

/** Chromium with a fresh profile in `dir`, collecting page errors and console errors. */
export async function launch(dir: string) {
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1440, height: 900 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  return { context, page, errors };
}

/**
 * A run's tick target in storage (see {@link runTargetKey}): written by the engine at every
 * start, so that a run continued without naming its ticks goes as far as it was meant to,
 * rather than to a command's default.
 *
 * @module
 */

import { NotFoundError, type Storage } from "../../resources/storage/storage.ts";
import { runTargetKey } from "./storage_layout.ts";

/** Records that run `runId` is to reach `ticks` (0: until stopped), replacing any earlier. */
export async function writeRunTarget(
  storage: Storage,
  runId: string,
  ticks: number,
): Promise<void> {
  const key = runTargetKey(runId);
  await storage.delete(key);
  const w = await storage.openWriter(key);
  try {
    await w.write(new TextEncoder().encode(`${JSON.stringify({ ticks })}\n`));
    // Not created: another start wrote one in between; its target stands.
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
}

/** The run's recorded target, or null when none is stored or it cannot be read. */
export async function readRunTarget(storage: Storage, runId: string): Promise<number | null> {
  let text: string;
  try {
    text = new TextDecoder().decode(await storage.read(runTargetKey(runId)));
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
  try {
    const ticks = (JSON.parse(text) as { ticks?: unknown }).ticks;
    return typeof ticks === "number" && Number.isSafeInteger(ticks) && ticks >= 0 ? ticks : null;
  } catch {
    return null;
  }
}

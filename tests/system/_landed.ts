/**
 * Batches landing in storage, as the test sees them: the run's raw batch keys in the bucket,
 * listed every second (a listing that fails, as while S3 is down, sees nothing new).
 *
 * @module
 */

import { listKeys, s3Client } from "./_stored_check.ts";

/** Polls the run's raw batches; {@link landedSince} says whether one landed after a moment. */
export class LandedBatches {
  /** Raw batches seen so far. */
  count = 0;
  /** performance.now() of the last time the count grew. */
  lastLandedAt = -Infinity;
  #stopped = false;
  readonly #loop: Promise<void>;

  /** Starts polling `<prefix>runs/<runId>/raw/` on the servers `env` names. */
  constructor(env: Record<string, string>, prefix: string, runId: string) {
    const s3 = s3Client(env);
    const bucket = env.EVOCHORA_S3_BUCKET!;
    this.#loop = (async () => {
      try {
        while (!this.#stopped) {
          const keys = await listKeys(s3, bucket, `${prefix}runs/${runId}/raw/`).catch(() => []);
          if (keys.length > this.count) {
            this.count = keys.length;
            this.lastLandedAt = performance.now();
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
      } finally {
        s3.destroy();
      }
    })();
  }

  /** Whether a batch landed after `t` (performance.now()). */
  landedSince(t: number): boolean {
    return this.lastLandedAt > t;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }
}

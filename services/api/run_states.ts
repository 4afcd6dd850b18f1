/**
 * Run states as the API shows them (`state` of /api/runs rows, the run detail and live
 * progress): from a run's view (its served batches, problems and gaps), its end record and the
 * times of its newest objects, by the rules of services/common/run_state.ts. Worked out once per
 * view (views are reused for the listing TTL); a run's end record, once found, is kept (it is
 * written once and never changes).
 *
 * @module
 */

import type { ObjectInfo, Storage } from "../../resources/storage/storage.ts";
import { readRunEnd, type RunEndFields } from "../common/run_end.ts";
import { activityOf, DEFAULT_IDLE_MS, inferRunState, type RunState } from "../common/run_state.ts";
import { metadataKey, runEndKey } from "../common/storage_layout.ts";
import type { RunStateName } from "./api_types.ts";
import type { RunView } from "./run_store.ts";

// The API's contract names the same states as services/common (a type error here otherwise).
const _sameStates: [RunState] extends [RunStateName]
  ? [RunStateName] extends [RunState] ? true : never
  : never = true;

/** A run's state for the API. */
export interface RunStateInfo {
  state: RunState;
  /** Why, in one line. */
  reason: string;
  /** The end record's last tick, or null when the run has none. */
  endTick: number | null;
  /** When the run last stored something, ms since the epoch, or null. */
  lastActivityMs: number | null;
}

/** Options of {@link RunStates}. */
export interface RunStatesOptions {
  /** Least idle time that makes a run without an end record incomplete, ms. Default 120000. */
  idleAfterMs?: number;
  /** Wall clock, ms since the epoch. Default Date.now. */
  now?: () => number;
}

/** Batches whose times tell a run's activity and pace (the newest by tick). */
const RECENT_BATCHES = 8;

/** Works out and remembers run states. */
export class RunStates {
  readonly #storage: Storage;
  readonly #idleAfterMs: number;
  readonly #now: () => number;
  readonly #byView = new WeakMap<RunView, Promise<RunStateInfo>>();
  /** End records found, by run: written once, so kept. */
  readonly #ends = new Map<string, RunEndFields>();

  constructor(storage: Storage, options: RunStatesOptions = {}) {
    this.#storage = storage;
    this.#idleAfterMs = options.idleAfterMs ?? DEFAULT_IDLE_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The state of the run `view` shows. */
  of(view: RunView): Promise<RunStateInfo> {
    let p = this.#byView.get(view);
    if (p === undefined) {
      p = this.#work(view);
      this.#byView.set(view, p);
      p.catch(() => this.#byView.delete(view));
    }
    return p;
  }

  async #work(view: RunView): Promise<RunStateInfo> {
    const runId = view.info.runId;
    const problems = view.problems.map((p) => `'${p.key}' ${p.reason}`);
    let end = this.#ends.get(runId) ?? null;
    const last = view.batches.at(-1)?.lastTick ?? null;
    // A run extended past its end gets a newer end record later: look again then.
    if (end === null || (last !== null && last > end.lastTick)) {
      const read = await readRunEnd(this.#storage, runId);
      if (read.problem !== null) problems.push(read.problem);
      end = read.end;
      if (end !== null) this.#ends.set(runId, end);
    }
    const activity = activityOf(await this.#recent(view, end), this.#idleAfterMs);
    const verdict = inferRunState({
      end,
      storedBatches: view.batches.length,
      storedLastTick: last,
      gaps: view.gaps.map((g) =>
        `no batch holds the ticks after ${g.after} and before ${g.before}`
      ),
      problems,
      lastActivityMs: activity.lastActivityMs,
      idleAfterMs: activity.idleAfterMs,
      nowMs: this.#now(),
    });
    return {
      state: verdict.state,
      reason: verdict.reason,
      endTick: end?.lastTick ?? null,
      lastActivityMs: activity.lastActivityMs,
    };
  }

  /** Times of the metadata, the newest batches and the end record. */
  async #recent(view: RunView, end: RunEndFields | null): Promise<ObjectInfo[]> {
    const keys = [
      metadataKey(view.info.runId),
      ...view.batches.slice(-RECENT_BATCHES).map((b) => b.key),
      ...(end === null ? [] : [runEndKey(view.info.runId, end.lastTick)]),
    ];
    const infos = await Promise.all(keys.map((k) => this.#storage.stat(k)));
    return infos.filter((i): i is ObjectInfo => i !== null);
  }
}

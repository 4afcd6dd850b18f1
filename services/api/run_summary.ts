/**
 * The run answers: the summary row of GET /api/runs, the detail of GET /api/runs/:run and the
 * tick list of GET /api/runs/:run/ticks.
 *
 * @module
 */

import { Topology } from "../../proto/mod.ts";
import type { RunDetail, RunSummary, TicksResponse } from "./api_types.ts";
import type { RunStates } from "./run_states.ts";
import type { RunStore, RunView } from "./run_store.ts";

/** One row of GET /api/runs. */
export async function runSummary(
  store: RunStore,
  states: RunStates,
  view: RunView,
): Promise<RunSummary> {
  const { info, batches } = view;
  const m = info.metadata;
  const state = await states.of(view);
  return {
    runId: info.runId,
    state: state.state,
    stateReason: state.reason,
    endTick: state.endTick,
    lastActivityMs: state.lastActivityMs,
    startedAtMs: info.startedAtMs,
    seed: String(m.seed),
    shape: [...info.shape],
    topology: m.topology === Topology.BOUNDED ? "bounded" : "torus",
    minTick: batches.at(0)?.firstTick ?? null,
    maxTick: batches.at(-1)?.lastTick ?? null,
    batches: batches.length,
    storedBytes: await store.storedBytes(view),
  };
}

function parseConfig(json: string): unknown {
  if (json === "") return null;
  try {
    return JSON.parse(json);
  } catch {
    return null;
  }
}

/** GET /api/runs/:run. */
export async function runDetail(
  store: RunStore,
  states: RunStates,
  view: RunView,
): Promise<RunDetail> {
  const m = view.info.metadata;
  const iv = m.intervals;
  return {
    ...await runSummary(store, states, view),
    intervals: {
      sampling: iv?.sampling ?? 1,
      accumulatedDelta: iv?.accumulatedDelta ?? 0,
      snapshot: iv?.snapshot ?? 0,
      chunk: iv?.chunk ?? 0,
    },
    engineVersion: m.engineVersion,
    moleculeTypes: [...m.moleculeTypes],
    instructionNames: [...m.instructionNames],
    programs: m.programs.map((p) => ({
      name: p.name,
      origin: [...(p.origin?.components ?? [])],
      energy: p.energy,
      genomeHash: p.genomeHash,
      cellCount: p.cellCount,
      source: p.source,
    })),
    config: parseConfig(m.resolvedConfigJson),
    problems: view.problems.map((p) => ({ key: p.key, reason: p.reason })),
    gaps: view.gaps.map((g) => ({ ...g })),
  };
}

/**
 * GET /api/runs/:run/ticks as JSON text: a {@link TicksResponse} with the spans the store
 * joined once for the listing (its size follows the batches' gaps, not the run's length).
 */
export function ticksJson(store: RunStore, view: RunView): string {
  const { spans, count } = store.tickSpans(view);
  const body: TicksResponse = {
    runId: view.info.runId,
    minTick: view.batches.at(0)?.firstTick ?? null,
    maxTick: view.batches.at(-1)?.lastTick ?? null,
    samplingInterval: view.info.sampling,
    count,
    spans: spans.map((s) => ({ first: s.first, step: s.step, count: s.count })),
  };
  return JSON.stringify(body);
}

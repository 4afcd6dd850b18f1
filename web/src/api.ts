/// <reference lib="dom" />
/**
 * The query API as the client uses it (JSON forms of services/api/api_types.ts). Every
 * failure becomes an {@link ApiRequestError} whose message names the request and the API's
 * own error message; callers show it in the status bar.
 *
 * @module
 */

import type {
  ApiError,
  OrganismDetail,
  OrganismsResponse,
  PipelineResponse,
  RunDetail,
  RunsResponse,
  StatsResponse,
  TicksResponse,
  WorldResponse,
} from "../../services/api/api_types.ts";
import { type Region, regionParam } from "./camera.ts";

/** The ticks of `/ticks` spans (`first`, `first + step`, ... `count` ticks each), ascending. */
export function expandSpans(spans: TicksResponse["spans"]): number[] {
  const ticks: number[] = [];
  for (const s of spans) {
    for (let k = 0; k < s.count; k++) ticks.push(s.first + k * s.step);
  }
  return ticks;
}

export type {
  LiveEnd,
  LiveProgress,
  OrganismDetail,
  OrganismsResponse,
  OrganismSummary,
  PipelineResponse,
  RunDetail,
  RunStateName,
  RunSummary,
  StatsResponse,
  TicksResponse,
  WorldResponse,
} from "../../services/api/api_types.ts";

/** A failed API request. `status` is 0 when the server could not be reached. */
export class ApiRequestError extends Error {
  constructor(
    readonly path: string,
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiRequestError";
  }
}

/** Whether `e` is the cancellation of a superseded request (not an error to show). */
export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError";
}

function isApiError(body: unknown): body is ApiError {
  const err = (body as ApiError | null)?.error;
  return typeof err === "object" && err !== null && typeof err.message === "string";
}

/** Counts requests in flight, for the loading indicator. */
export type InflightListener = (inflight: number) => void;

export class Api {
  #inflight = 0;
  constructor(readonly base = "", readonly onInflight: InflightListener = () => {}) {}

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    const url = this.base + path;
    this.onInflight(++this.#inflight);
    try {
      let res: Response;
      try {
        res = await fetch(url, { headers: { accept: "application/json" }, signal: signal ?? null });
      } catch (e) {
        if (isAbort(e)) throw e;
        throw new ApiRequestError(path, 0, "unreachable", `API unreachable: ${e} (GET ${path})`);
      }
      const text = await res.text();
      let body: unknown;
      try {
        body = text === "" ? null : JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (!res.ok) {
        const msg = isApiError(body)
          ? body.error.message
          : text.slice(0, 200) || res.statusText || "no details";
        const code = isApiError(body) ? body.error.code : "http";
        throw new ApiRequestError(path, res.status, code, `${msg} (GET ${path}: ${res.status})`);
      }
      if (body === undefined) {
        throw new ApiRequestError(
          path,
          res.status,
          "bad_json",
          `The answer is not JSON (GET ${path}: ${res.status})`,
        );
      }
      return body as T;
    } finally {
      this.onInflight(--this.#inflight);
    }
  }

  runs(signal?: AbortSignal): Promise<RunsResponse> {
    return this.get("/api/runs", signal);
  }

  run(run: string, signal?: AbortSignal): Promise<RunDetail> {
    return this.get(`/api/runs/${encodeURIComponent(run)}`, signal);
  }

  /** The run's sampled ticks, ascending, expanded from the answer's spans. */
  async ticks(run: string, signal?: AbortSignal): Promise<number[]> {
    const res: TicksResponse = await this.get(`/api/runs/${encodeURIComponent(run)}/ticks`, signal);
    return expandSpans(res.spans);
  }

  world(run: string, tick: number, region: Region, signal?: AbortSignal): Promise<WorldResponse> {
    return this.get(
      `/api/runs/${encodeURIComponent(run)}/world/${tick}?region=${regionParam(region)}`,
      signal,
    );
  }

  organisms(run: string, tick: number, signal?: AbortSignal): Promise<OrganismsResponse> {
    return this.get(`/api/runs/${encodeURIComponent(run)}/organisms/${tick}`, signal);
  }

  organism(run: string, tick: number, id: number, signal?: AbortSignal): Promise<OrganismDetail> {
    return this.get(`/api/runs/${encodeURIComponent(run)}/organisms/${tick}/${id}`, signal);
  }

  stats(
    run: string,
    metrics: readonly string[],
    maxPoints: number,
    signal?: AbortSignal,
  ): Promise<StatsResponse> {
    return this.get(
      `/api/runs/${encodeURIComponent(run)}/stats?metrics=${metrics.join(",")}&maxPoints=${
        Math.max(2, Math.round(maxPoints))
      }`,
      signal,
    );
  }

  pipeline(signal?: AbortSignal): Promise<PipelineResponse> {
    return this.get("/api/pipeline", signal);
  }

  liveUrl(run: string): string {
    return `${this.base}/api/runs/${encodeURIComponent(run)}/live`;
  }
}

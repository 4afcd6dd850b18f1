/**
 * What GET /metrics reports: the pipeline's service and resource metrics, the API's request
 * counters and its cache counters, as Prometheus metric families.
 *
 * @module
 */

import type { PipelineResponse } from "./api_types.ts";
import type { CacheStats } from "./lru_cache.ts";
import { type MetricFamily, metricName } from "./prometheus.ts";

/** Request counters by route pattern, method and status, with time spent. */
export class RequestCounters {
  readonly #counts = new Map<string, { labels: Record<string, string>; n: number; s: number }>();

  /** Counts one answered request. */
  count(route: string, method: string, status: number, seconds: number): void {
    const key = `${route}\u0000${method}\u0000${status}`;
    let e = this.#counts.get(key);
    if (e === undefined) {
      e = { labels: { route, method, status: String(status) }, n: 0, s: 0 };
      this.#counts.set(key, e);
    }
    e.n++;
    e.s += seconds;
  }

  /** Requests answered so far. */
  total(): number {
    let n = 0;
    for (const e of this.#counts.values()) n += e.n;
    return n;
  }

  /** The counter families. */
  families(): MetricFamily[] {
    const entries = [...this.#counts.values()];
    return [
      {
        name: "evochora_api_requests_total",
        help: "HTTP requests answered by the query API, by route pattern, method and status.",
        type: "counter",
        samples: entries.map((e) => ({ labels: e.labels, value: e.n })),
      },
      {
        name: "evochora_api_request_seconds_total",
        help: "Seconds spent answering requests (until the response head), by route and status.",
        type: "counter",
        samples: entries.map((e) => ({ labels: e.labels, value: e.s })),
      },
    ];
  }
}

/** Cache counters as families labelled by cache name. */
export function cacheFamilies(caches: readonly CacheStats[]): MetricFamily[] {
  const family = (
    name: string,
    help: string,
    type: "gauge" | "counter",
    pick: (c: CacheStats) => number,
  ): MetricFamily => ({
    name,
    help,
    type,
    samples: caches.map((c) => ({ labels: { cache: c.name }, value: pick(c) })),
  });
  return [
    family("evochora_api_cache_hits_total", "Cache hits.", "counter", (c) => c.hits),
    family("evochora_api_cache_misses_total", "Cache misses.", "counter", (c) => c.misses),
    family(
      "evochora_api_cache_evictions_total",
      "Entries evicted to stay within bounds.",
      "counter",
      (c) => c.evictions,
    ),
    family("evochora_api_cache_entries", "Entries held.", "gauge", (c) => c.entries),
    family("evochora_api_cache_bytes", "Bytes held (estimated).", "gauge", (c) => c.bytes),
  ];
}

/**
 * The pipeline's metrics: every numeric service metric `m` as gauge `evochora_<m>` labelled
 * with service and kind, a state gauge per service, and numeric resource stats as
 * `evochora_resource_<stat>` (nested records of numbers get a `key` label).
 */
export function pipelineFamilies(p: PipelineResponse): MetricFamily[] {
  const out: MetricFamily[] = [];
  for (const s of p.services) {
    const labels = { service: s.name, kind: s.kind };
    out.push({
      name: "evochora_service_up",
      help: "1 when the service is running, else 0.",
      type: "gauge",
      samples: [{ labels, value: s.state === "running" ? 1 : 0 }],
    });
    out.push({
      name: "evochora_service_state",
      help: "The service's lifecycle state (1 for the current state).",
      type: "gauge",
      samples: [{ labels: { ...labels, state: s.state }, value: 1 }],
    });
    for (const [m, v] of Object.entries(s.metrics)) {
      if (typeof v !== "number") continue;
      out.push({
        name: `evochora_${metricName(m)}`,
        help: `Service metric '${m}' from the pipeline status.`,
        type: "gauge",
        samples: [{ labels, value: v }],
      });
    }
  }
  for (const r of p.resources) {
    const labels = { resource: r.name, kind: r.kind };
    for (const [k, v] of Object.entries(r.stats ?? {})) {
      const name = `evochora_resource_${metricName(k)}`;
      const help = `Resource statistic '${k}' from the pipeline status.`;
      if (typeof v === "number") {
        out.push({ name, help, type: "gauge", samples: [{ labels, value: v }] });
      } else if (typeof v === "object" && v !== null) {
        const samples = Object.entries(v as Record<string, unknown>)
          .filter((e): e is [string, number] => typeof e[1] === "number")
          .map(([key, value]) => ({ labels: { ...labels, key }, value }));
        if (samples.length > 0) out.push({ name, help, type: "gauge", samples });
      }
    }
  }
  return out;
}

/**
 * The deployment's services (heartbeats on the status topic): per service and process a state
 * gauge (1 for the current state, `lost` included), the seconds since its last heartbeat, and
 * its lag where known. Labels: service, kind, host, pid.
 */
export function clusterFamilies(cluster: PipelineResponse["cluster"]): MetricFamily[] {
  if (cluster === undefined) return [];
  const state: MetricFamily = {
    name: "evochora_cluster_service_state",
    help: "The state of a service of the deployment (1 for the current state; lost: silent).",
    type: "gauge",
    samples: [],
  };
  const age: MetricFamily = {
    name: "evochora_cluster_service_last_seen_seconds",
    help: "Seconds since the service's process last sent a heartbeat.",
    type: "gauge",
    samples: [],
  };
  const lag: MetricFamily = {
    name: "evochora_cluster_service_lag",
    help: "Records the service has not processed yet, as its last heartbeat reported.",
    type: "gauge",
    samples: [],
  };
  for (const s of cluster.services) {
    const labels = { service: s.name, kind: s.kind, host: s.host, pid: String(s.pid) };
    state.samples.push({ labels: { ...labels, state: s.state }, value: 1 });
    age.samples.push({ labels, value: s.ageMs / 1000 });
    if (s.lag !== null) lag.samples.push({ labels, value: s.lag });
  }
  return [state, age, lag];
}

/**
 * Prometheus text exposition format (version 0.0.4): metric families with HELP and TYPE lines,
 * samples with escaped label values, every family's samples together.
 *
 * @module
 */

/** One sample of a family. */
export interface MetricSample {
  labels: Record<string, string>;
  value: number;
}

/** A metric family. */
export interface MetricFamily {
  /** Must match {@link METRIC_NAME}; see {@link metricName}. */
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: MetricSample[];
}

/** Content type of the exposition. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Valid metric names. */
export const METRIC_NAME: RegExp = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Valid label names (names starting with `__` are reserved). */
export const LABEL_NAME: RegExp = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Turns any text (e.g. `ticksPerSecond`, `lag.persistence`) into a metric name part. */
export function metricName(text: string): string {
  const snake = text.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
  const clean = snake.replace(/[^a-z0-9_:]/g, "_").replace(/_+/g, "_");
  return /^[a-z_:]/.test(clean) ? clean : `_${clean}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/**
 * Renders families, merging families of the same name (the first HELP and TYPE win) so that
 * each name has one HELP, one TYPE and its samples together. Invalid names throw.
 */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const merged = new Map<string, MetricFamily>();
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new RangeError(`Invalid metric name '${f.name}'`);
    const existing = merged.get(f.name);
    if (existing === undefined) merged.set(f.name, { ...f, samples: [...f.samples] });
    else existing.samples.push(...f.samples);
  }
  const lines: string[] = [];
  for (const f of merged.values()) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    lines.push(`# TYPE ${f.name} ${f.type}`);
    const seen = new Set<string>();
    for (const s of f.samples) {
      const labels = Object.entries(s.labels);
      for (const [k] of labels) {
        if (!LABEL_NAME.test(k) || k.startsWith("__")) {
          throw new RangeError(`Invalid label name '${k}' on ${f.name}`);
        }
      }
      const text = labels.length === 0
        ? ""
        : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
      // The same series twice would make the exposition invalid; keep the first.
      if (seen.has(text)) continue;
      seen.add(text);
      lines.push(`${f.name}${text} ${formatValue(s.value)}`);
    }
  }
  return lines.join("\n") + "\n";
}

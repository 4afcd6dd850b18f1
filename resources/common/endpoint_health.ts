/**
 * Which network endpoints of this process (Kafka brokers, S3 endpoints) do not answer, since
 * when and why. The Kafka client's sockets and the S3 client's requests report here (attempt,
 * failure, answer); a process's status line, its heartbeat and the lines that say "waiting for
 * broker ..." read {@link EndpointHealth.problems}. One registry per process
 * ({@link endpointHealth}), since a service's clients are built deep inside its resources.
 *
 * An endpoint is a problem once it failed (refused, timed out, closed without an answer) and
 * has not answered for `failGraceMs`, or when it was tried and has not answered for
 * `noAnswerMs` (a server that accepts connections and never answers fails no request for a
 * long time). Any answer clears it.
 *
 * @module
 */

/** What an endpoint is, as messages name it. */
export type EndpointKind = "broker" | "S3 endpoint";

/** An endpoint that does not answer. */
export interface EndpointProblem {
  kind: EndpointKind;
  /** host:port of a broker, the URL of an S3 endpoint. */
  address: string;
  /** Why, e.g. "connection refused", "no answer for 12 s". */
  reason: string;
  /** What to check, e.g. "check KAFKA_BOOTSTRAP_SERVERS". */
  hint: string;
  /** Since when it has not answered, ms since the epoch. */
  since: number;
}

/** Options of {@link EndpointHealth}. */
export interface EndpointHealthOptions {
  /** A failure counts once the endpoint has not answered this long, ms. Default 2000. */
  failGraceMs?: number;
  /** An attempt without any answer counts after this long, ms. Default 5000. */
  noAnswerMs?: number;
  /** Wall clock, ms since the epoch. Default Date.now. */
  now?: () => number;
}

interface Entry {
  kind: EndpointKind;
  address: string;
  since: number;
  hint: string;
  reason: string | undefined;
}

/** See the module doc. */
export class EndpointHealth {
  readonly failGraceMs: number;
  readonly noAnswerMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  #forward: ((report: EndpointReport) => void) | undefined;

  constructor(options: EndpointHealthOptions = {}) {
    this.failGraceMs = options.failGraceMs ?? 2000;
    this.noAnswerMs = options.noAnswerMs ?? 5000;
    this.#now = options.now ?? Date.now;
    if (!(this.failGraceMs >= 0) || !(this.noAnswerMs > 0)) {
      throw new RangeError(
        `EndpointHealth needs failGraceMs >= 0 and noAnswerMs > 0, got ${this.failGraceMs} and ` +
          `${this.noAnswerMs}`,
      );
    }
  }

  /** The endpoint is being tried (a connection, a probe): it is waited for from now on. */
  attempt(kind: EndpointKind, address: string, hint: string): void {
    this.#forward?.({ op: "attempt", kind, address, hint });
    this.#attempt(kind, address, hint);
  }

  #attempt(kind: EndpointKind, address: string, hint: string): void {
    const key = `${kind} ${address}`;
    if (!this.#entries.has(key)) {
      this.#entries.set(key, { kind, address, since: this.#now(), hint, reason: undefined });
    }
  }

  /** The endpoint failed for `reason` (kept until it answers; the latest reason wins). */
  failed(kind: EndpointKind, address: string, reason: string, hint: string): void {
    this.#forward?.({ op: "failed", kind, address, reason, hint });
    this.#attempt(kind, address, hint);
    const e = this.#entries.get(`${kind} ${address}`)!;
    e.reason = reason;
    e.hint = hint;
  }

  /** The endpoint answered: not a problem any more. */
  answered(kind: EndpointKind, address: string): void {
    this.#forward?.({ op: "answered", kind, address });
    this.#entries.delete(`${kind} ${address}`);
  }

  /** Whether some endpoint was tried or failed and has not answered since. */
  anyUnanswered(): boolean {
    return this.#entries.size > 0;
  }

  /** Whether the endpoint was tried or failed and has not answered since. */
  unanswered(kind: EndpointKind, address: string): boolean {
    return this.#entries.has(`${kind} ${address}`);
  }

  /** The endpoints that count as not answering now (see the module doc), oldest first. */
  problems(): EndpointProblem[] {
    const now = this.#now();
    const out: EndpointProblem[] = [];
    for (const e of this.#entries.values()) {
      const age = now - e.since;
      if (e.reason !== undefined && age >= this.failGraceMs) {
        out.push({
          kind: e.kind,
          address: e.address,
          reason: e.reason,
          hint: e.hint,
          since: e.since,
        });
      } else if (e.reason === undefined && age >= this.noAnswerMs) {
        const reason = `no answer for ${Math.floor(age / 1000)} s`;
        out.push({ kind: e.kind, address: e.address, reason, hint: e.hint, since: e.since });
      }
    }
    return out.sort((a, b) => a.since - b.since);
  }

  /**
   * Passes every report on to `to` as well: a worker thread's clients report to the worker's
   * registry, and the process's waiting lines read the main thread's (see {@link apply}).
   */
  forward(to: ((report: EndpointReport) => void) | undefined): void {
    this.#forward = to;
  }

  /** Records a report forwarded from another thread's registry. */
  apply(report: EndpointReport): void {
    if (report.op === "attempt") this.attempt(report.kind, report.address, report.hint);
    else if (report.op === "failed") {
      this.failed(report.kind, report.address, report.reason, report.hint);
    } else this.answered(report.kind, report.address);
  }

  /** Forgets everything (tests). */
  clear(): void {
    this.#entries.clear();
  }
}

/** One call of {@link EndpointHealth}'s reporting methods, as {@link EndpointHealth.forward} passes it on. */
export type EndpointReport =
  | { op: "attempt"; kind: EndpointKind; address: string; hint: string }
  | { op: "failed"; kind: EndpointKind; address: string; reason: string; hint: string }
  | { op: "answered"; kind: EndpointKind; address: string };

/** This process's registry. */
export const endpointHealth: EndpointHealth = new EndpointHealth();

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection reset",
  ETIMEDOUT: "connection timed out",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EADDRNOTAVAIL: "address not available",
};

/**
 * Why a connection failed, in a few words ("connection refused"), from a Node-style error
 * code on `e` or its causes, or Deno's refusal of a host the process may not connect to;
 * undefined when `e` is not a network failure.
 */
export function networkFailure(e: unknown): string | undefined {
  for (let x: unknown = e, depth = 0; x !== undefined && x !== null && depth < 8; depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_REASONS[code] !== undefined) {
      return NETWORK_REASONS[code];
    }
    const name = (x as { name?: unknown }).name;
    if (name === "NotCapable" || name === "PermissionDenied") {
      return "this process may not connect to it: not in its --allow-net";
    }
    x = (x as { cause?: unknown }).cause;
  }
  return undefined;
}

/** "waiting for broker 10.0.0.5:9092 (connection refused)": a service's status detail. */
export function waitingDetail(problems: readonly EndpointProblem[]): string {
  return problems.map((p) => `waiting for ${p.kind} ${p.address} (${p.reason})`).join("; ");
}

/** "45 s", "2 min 5 s", "1 h 3 min": how long something has lasted. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  return m % 60 === 0 ? `${Math.floor(m / 60)} h` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

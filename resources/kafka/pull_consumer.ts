/**
 * The Consumer interface (drain/commit) over kafkajs' push consumer. kafkajs calls
 * `eachBatch` for every fetched batch; the adapter moves the records into a buffer per owned
 * partition (reassembling large messages) and returns at once, so the group's heartbeats and
 * rebalances are never held up by the application. drain() takes records from the buffers;
 * when the buffers hold `bufferBytes`, the partitions with drainable records are paused and
 * resumed once drain() made room.
 *
 * Assignment: kafkajs reports each (re)join with this member's partitions. A partition kept
 * across a rebalance keeps its buffer and continues where it was fetched up to (a seek, since
 * kafkajs would restart at the committed offset: no needless redelivery); a revoked one drops
 * its buffered and reassembling records (the new owner starts at the committed offset, so
 * they are delivered there again) and its commits return false.
 *
 * Commit: per partition the committed position advances over the contiguous run of done
 * records, as in the in-memory queue, and is committed with kafkajs' commitOffsets (never
 * automatically). A commit refused because the group is rebalancing is retried once the
 * member rejoined, for the partitions it still owns.
 *
 * @module
 */

import { abortReason, type Waiter, waitInSet } from "../queue/partitioned_log.ts";
import { ClosedError, type Consumer, type Delivery } from "../queue/queue.ts";
import type { ConsumerClient, FetchedBatch, FetchedMessage } from "./client_interfaces.ts";
import type { KafkaLogSink } from "./logger.ts";
import { PartitionState } from "./partition_state.ts";

/** Options of a KafkaPullConsumer. */
export interface PullConsumerOptions {
  /** For messages, e.g. `consumer p1 of queue raw-tick-data`. */
  what: string;
  topic: string;
  group: string;
  member: string;
  /** New groups start at the earliest retained record. */
  fromBeginning: boolean;
  /** Buffered bytes at which partitions with drainable records are paused. */
  bufferBytes: number;
  /** Records after which an unfinished large message is abandoned (see PartitionState). */
  abandonAfterRecords: number;
  /** How long a commit refused during a rebalance waits for the rejoin, ms. */
  rejoinWaitMs: number;
  /** Waits for the topic to exist (and anything else needed before joining). */
  ready: () => Promise<void>;
  /** Whether a start error is permanent (drain then rejects with it instead of retrying). */
  isFatal?: (error: unknown) => boolean;
  sink: KafkaLogSink;
  /** Called per delivered record; returns whether the group saw this offset before. */
  onDelivered?: (partition: number, offset: number, bytes: number) => void;
  /** Called after a successful commit of `position` for `partition`. */
  onCommitted?: (partition: number, position: number) => void;
  /** Called once the consumer is closed. */
  onClosed?: () => void;
}

/** A consumer's status, for status views. */
export interface PullConsumerStatus {
  group: string;
  member: string;
  /** Whether the member has joined the group at least once. */
  joined: boolean;
  assignment: number[];
  paused: number[];
  /** Bytes buffered (drainable plus parts of large messages being reassembled). */
  bufferedBytes: number;
  /** Records drained and not yet committed. */
  uncommitted: number;
  discardedParts: number;
  lastError?: string;
}

const utf8 = new TextDecoder();

function toBytes(b: Uint8Array | null): Uint8Array {
  if (b === null) return new Uint8Array(0);
  // A plain view (not a Buffer) of the fetched bytes; no copy.
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function decodeHeaders(h: FetchedMessage["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  for (const [k, v] of Object.entries(h)) {
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    if (one === undefined) continue;
    out[k] = typeof one === "string" ? one : utf8.decode(one);
  }
  return out;
}

/** Whether `e` (or a cause of it) is Kafka's "the group is rebalancing / you are stale". */
export function isRebalanceError(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x !== undefined && x !== null && depth < 8; depth++) {
    const type = (x as { type?: unknown }).type;
    if (
      type === "REBALANCE_IN_PROGRESS" || type === "ILLEGAL_GENERATION" ||
      type === "UNKNOWN_MEMBER_ID" || type === "FENCED_INSTANCE_ID" ||
      type === "CONSUMER_NOT_RUNNING"
    ) return true;
    x = (x as { cause?: unknown }).cause;
  }
  return false;
}

/** See the module doc. */
export class KafkaPullConsumer implements Consumer {
  readonly #c: ConsumerClient;
  readonly #o: PullConsumerOptions;
  readonly #parts = new Map<number, PartitionState>();
  #owned: number[] = [];
  readonly #paused = new Set<number>();
  readonly #waiters = new Set<Waiter>();
  readonly #joinWaiters = new Set<() => void>();
  #memberId: string | undefined;
  #joined = false;
  /** Joins so far: a commit refused in a rebalance retries at once if one happened meanwhile. */
  #joins = 0;
  #rotation = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  #fatal: Error | undefined;
  #lastError: string | undefined;
  #commitChain: Promise<unknown> = Promise.resolve();
  #started: Promise<void>;
  readonly #stop = new AbortController();
  #discardedReported = 0;

  constructor(client: ConsumerClient, options: PullConsumerOptions) {
    this.#c = client;
    this.#o = options;
    client.onGroupJoin((memberId, assignment) => this.#onJoin(memberId, assignment));
    client.onCrash((error, restart) => this.#onCrash(error, restart));
    this.#started = this.#start();
  }

  /** The group this member belongs to. */
  get group(): string {
    return this.#o.group;
  }

  /** See Consumer.drain. */
  async drain(max: number, timeoutMs: number, signal?: AbortSignal): Promise<Delivery[]> {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`max must be an integer >= 1, got ${max}`);
    }
    const deadline = Date.now() + Math.max(0, timeoutMs);
    for (;;) {
      this.#checkOpen();
      if (signal?.aborted) throw abortReason(signal);
      const out = this.#take(max);
      if (out.length > 0) return out;
      const left = deadline - Date.now();
      if (left <= 0) return out;
      await this.#waitForChange(left, signal);
    }
  }

  /** See Consumer.commit. */
  commit(records: readonly Delivery[]): Promise<boolean> {
    if (this.#closed) return Promise.reject(new ClosedError(this.#o.what));
    const run = this.#commitChain.then(() => this.#commit(records));
    this.#commitChain = run.catch(() => {});
    return run;
  }

  /** See Consumer.assignment. */
  assignment(): readonly number[] {
    return this.#closed ? [] : [...this.#owned];
  }

  /** See Consumer.close: leaves the group; what was drained and not committed is redelivered. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** For status views. */
  status(): PullConsumerStatus {
    let buffered = 0;
    let uncommitted = 0;
    let discarded = 0;
    for (const st of this.#parts.values()) {
      buffered += st.readyBytes + st.heldBytes;
      uncommitted += st.pendingCount - st.readyCount;
      discarded += st.discardedParts;
    }
    const s: PullConsumerStatus = {
      group: this.#o.group,
      member: this.#o.member,
      joined: this.#joined,
      assignment: [...this.#owned],
      paused: [...this.#paused].sort((a, b) => a - b),
      bufferedBytes: buffered,
      uncommitted,
      discardedParts: discarded,
    };
    if (this.#lastError !== undefined) s.lastError = this.#lastError;
    return s;
  }

  // ---------------------------------------------------------------------------------------

  async #start(): Promise<void> {
    let delay = 500;
    while (!this.#closed) {
      try {
        await this.#o.ready();
        if (this.#closed) return;
        await this.#c.connect();
        if (this.#closed) return;
        await this.#c.subscribe(this.#o.topic, this.#o.fromBeginning);
        if (this.#closed) return;
        await this.#c.run((batch, resolveOffset) => this.#onBatch(batch, resolveOffset));
        return;
      } catch (e) {
        this.#error(`cannot join group ${this.#o.group}`, e);
        if (this.#closed) return;
        if (this.#o.isFatal?.(e)) {
          this.#fatal = e instanceof Error ? e : new Error(String(e));
          for (const w of [...this.#waiters]) w.fail(this.#fatal);
          this.#waiters.clear();
          return;
        }
        await this.#c.disconnect().catch(() => {});
        await sleep(delay, this.#stop.signal);
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#stop.abort();
    const error = new ClosedError(this.#o.what);
    for (const w of [...this.#waiters]) w.fail(error);
    this.#waiters.clear();
    for (const w of this.#joinWaiters) w();
    this.#joinWaiters.clear();
    this.#parts.clear();
    this.#owned = [];
    await this.#started;
    await this.#commitChain;
    try {
      await this.#c.disconnect();
    } catch (e) {
      this.#error("disconnect failed", e);
    }
    this.#o.onClosed?.();
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError(this.#o.what);
    if (this.#fatal) throw this.#fatal;
  }

  #error(message: string, e: unknown): void {
    const text = `${this.#o.what}: ${message}: ${(e as Error)?.message ?? e}`;
    this.#lastError = text;
    this.#o.sink.error("consumer", text, e);
  }

  #info(message: string): void {
    this.#o.sink.info("consumer", `${this.#o.what}: ${message}`);
  }

  #notify(): void {
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w.wake();
  }

  #waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    return waitInSet(this.#waiters, ms, signal);
  }

  #bufferedBytes(): number {
    let n = 0;
    for (const st of this.#parts.values()) n += st.readyBytes + st.heldBytes;
    return n;
  }

  /** Called by the fetcher (kafkajs) per batch: buffer, move the fetch position, pause. */
  #onBatch(batch: FetchedBatch, resolveOffset: (offset: string) => void): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const st = this.#parts.get(batch.partition);
    // A batch of a partition revoked meanwhile: its records go to the new owner.
    if (st === undefined) return Promise.resolve();
    for (const m of batch.messages) {
      st.ingest({
        offset: Number(m.offset),
        key: m.key === null ? "" : utf8.decode(m.key),
        value: toBytes(m.value),
        headers: decodeHeaders(m.headers),
      });
    }
    // Past the batch, or past what was fetched before when the batch only held duplicates.
    resolveOffset(String(Math.max(Number(batch.lastOffset()), (st.next ?? 0) - 1)));
    if (st.discardedParts > this.#discardedReported) {
      this.#error(
        `partition ${st.partition}: skipped ${st.discardedParts - this.#discardedReported} ` +
          "part(s) of large messages that cannot be completed (committed before, or their " +
          "producer stopped half-way)",
        "parts discarded",
      );
      this.#discardedReported = st.discardedParts;
    }
    if (st.readyCount > 0 && this.#bufferedBytes() >= this.#o.bufferBytes) {
      this.#paused.add(st.partition);
      this.#c.pause(this.#o.topic, [st.partition]);
      this.#info(`paused partition ${st.partition}: ${this.#bufferedBytes()} bytes buffered`);
    }
    if (st.readyCount > 0) this.#notify();
    return Promise.resolve();
  }

  #take(max: number): Delivery[] {
    const out: Delivery[] = [];
    const owned = this.#owned;
    const n = owned.length;
    if (n === 0) return out;
    const start = this.#rotation % n;
    this.#rotation = (start + 1) % n;
    let progressed = true;
    while (out.length < max && progressed) {
      progressed = false;
      for (let i = 0; i < n && out.length < max; i++) {
        const st = this.#parts.get(owned[(start + i) % n]!);
        const d = st?.take();
        if (d === undefined) continue;
        out.push(d);
        this.#o.onDelivered?.(d.partition, d.offset, d.value.byteLength);
        progressed = true;
      }
    }
    if (out.length > 0) this.#resumeIfRoom();
    return out;
  }

  /** Resumes the paused partitions once the buffers are below the limit. */
  #resumeIfRoom(): void {
    if (this.#paused.size === 0 || this.#bufferedBytes() >= this.#o.bufferBytes) return;
    const resume = [...this.#paused].filter((p) => this.#parts.has(p));
    this.#paused.clear();
    if (resume.length === 0) return;
    this.#c.resume(this.#o.topic, resume);
    this.#info(`resumed partition(s) ${resume.join(",")}`);
  }

  async #commit(records: readonly Delivery[]): Promise<boolean> {
    if (this.#closed) throw new ClosedError(this.#o.what);
    let all = true;
    const touched = new Map<number, PartitionState>();
    for (const r of records) {
      const st = this.#parts.get(r.partition);
      if (st === undefined) {
        all = false;
        continue;
      }
      st.markDone(r.offset);
      touched.set(r.partition, st);
    }
    let targets = this.#targets(touched);
    for (let attempt = 0; targets.length > 0; attempt++) {
      const joinsBefore = this.#joins;
      try {
        await this.#c.commit(
          this.#o.topic,
          targets.map(({ st, position }) => ({
            partition: st.partition,
            offset: position,
          })),
        );
      } catch (e) {
        if (this.#closed) throw new ClosedError(this.#o.what);
        if (!isRebalanceError(e) || attempt >= 3) {
          this.#error("commit failed", e);
          throw new Error(`${this.#o.what}: commit failed: ${(e as Error)?.message ?? e}`, {
            cause: e,
          });
        }
        // The group moved to a new generation: after the rejoin, commit what is still ours. The
        // rejoin may have happened while the refused request was under way; waiting for the
        // next one then stalled every commit of this member for the whole rejoin wait (30 s).
        if (this.#joins === joinsBefore) await this.#waitForJoin(this.#o.rejoinWaitMs);
        const still = targets.filter(({ st }) => this.#parts.get(st.partition) === st);
        if (still.length < targets.length) all = false;
        targets = still;
        continue;
      }
      for (const { st, position } of targets) {
        st.applyCommit(position);
        this.#o.onCommitted?.(st.partition, position);
      }
      break;
    }
    return all;
  }

  #targets(touched: Map<number, PartitionState>): { st: PartitionState; position: number }[] {
    const out: { st: PartitionState; position: number }[] = [];
    for (const st of touched.values()) {
      const position = st.commitTarget();
      if (position !== undefined && (st.committed === undefined || position > st.committed)) {
        out.push({ st, position });
      }
    }
    return out;
  }

  #waitForJoin(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#joinWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#joinWaiters.add(done);
    });
  }

  #revoke(p: number): void {
    this.#parts.delete(p);
    if (this.#paused.delete(p)) this.#c.resume(this.#o.topic, [p]);
  }

  #onJoin(memberId: string, assignment: Record<string, number[]>): void {
    if (this.#closed) return;
    const mine = new Set(assignment[this.#o.topic] ?? []);
    // A new member id means the group forgot this member (session expired, restart after a
    // crash): whatever it held may have been owned by someone else since.
    const fresh = this.#memberId !== undefined && memberId !== this.#memberId;
    this.#memberId = memberId;
    this.#joined = true;
    this.#joins++;
    for (const p of [...this.#parts.keys()]) if (fresh || !mine.has(p)) this.#revoke(p);
    for (const p of mine) {
      const st = this.#parts.get(p);
      if (st === undefined) {
        this.#parts.set(p, new PartitionState(p, this.#o.abandonAfterRecords));
      } else if (st.next !== undefined) {
        // kafkajs restarts a kept partition at the committed offset; continue instead.
        this.#c.seek(this.#o.topic, p, st.next);
      }
    }
    this.#owned = [...mine].sort((a, b) => a - b);
    this.#rotation = 0;
    this.#info(
      `joined as ${memberId}${fresh ? " (a new member: nothing kept)" : ""}: partitions ` +
        this.#owned.map((p) => {
          const st = this.#parts.get(p)!;
          return st.next === undefined ? `${p}` : `${p}@${st.next}`;
        }).join(",") + (this.#paused.size > 0 ? `; paused ${[...this.#paused].join(",")}` : ""),
    );
    // Revoked partitions may have freed enough buffer for the paused ones.
    this.#resumeIfRoom();
    for (const w of [...this.#joinWaiters]) w();
    this.#notify();
  }

  #onCrash(error: Error, restart: boolean): void {
    if (this.#closed) return;
    this.#error(restart ? "consumer crashed, restarting" : "consumer crashed", error);
    // The restarted consumer joins as a new member: nothing held now is ours any more. kafkajs
    // has already dropped its consumer group, and its pauses with it (the restarted one starts
    // unpaused); resuming now would throw, so the pauses are only forgotten here.
    this.#parts.clear();
    this.#paused.clear();
    this.#owned = [];
    this.#memberId = undefined;
    // Commits waiting for a rejoin find their partitions gone.
    for (const w of [...this.#joinWaiters]) w();
    if (!restart && this.#o.isFatal?.(error)) {
      this.#fatal = new Error(`${this.#o.what}: ${error.message}`, { cause: error });
      for (const w of [...this.#waiters]) w.fail(this.#fatal);
      this.#waiters.clear();
    } else if (!restart) {
      // kafkajs gives up on errors it calls non-retriable, e.g. "Failed to find group
      // coordinator" while the broker restarts: the consumer stopped for good, and drain()
      // failed forever. Started again (with the start loop's backoff), it joins once the
      // broker is back; a lasting cause shows in lastError on every attempt.
      this.#started = this.#started.then(() => this.#start());
    }
    this.#notify();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Exposed for tests: decoding of fetched messages. */
export const _internal = { toBytes, decodeHeaders };

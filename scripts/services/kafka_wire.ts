// Just enough of the Kafka wire protocol for a health check with no dependencies: ApiVersions,
// Metadata, CreateTopics, Produce, Fetch and DeleteTopics in their oldest versions that Kafka 4.x
// still serves (KIP-896 removed the older ones), with v2 record batches (CRC32C).
// The project's own Kafka code uses kafkajs; this file only serves `services:up`.

// ---- CRC32C (Castagnoli), as record batches use ----

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---- encoding ----

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class Writer {
  #buf = new Uint8Array(256);
  #view = new DataView(this.#buf.buffer);
  #len = 0;

  #grow(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
  int8(v: number): this {
    this.#grow(1);
    this.#view.setInt8(this.#len, v);
    this.#len += 1;
    return this;
  }
  int16(v: number): this {
    this.#grow(2);
    this.#view.setInt16(this.#len, v);
    this.#len += 2;
    return this;
  }
  int32(v: number): this {
    this.#grow(4);
    this.#view.setInt32(this.#len, v);
    this.#len += 4;
    return this;
  }
  uint32(v: number): this {
    this.#grow(4);
    this.#view.setUint32(this.#len, v);
    this.#len += 4;
    return this;
  }
  int64(v: bigint): this {
    this.#grow(8);
    this.#view.setBigInt64(this.#len, v);
    this.#len += 8;
    return this;
  }
  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }
  raw(bytes: Uint8Array): this {
    this.#grow(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    return this;
  }
  /** STRING / NULLABLE_STRING: int16 length (-1 for null) and UTF-8 bytes. */
  string(v: string | null): this {
    if (v === null) return this.int16(-1);
    const b = utf8.encode(v);
    return this.int16(b.length).raw(b);
  }
  /** BYTES / NULLABLE_BYTES: int32 length (-1 for null) and the bytes. */
  bytes(v: Uint8Array | null): this {
    if (v === null) return this.int32(-1);
    return this.int32(v.length).raw(v);
  }
  array<T>(items: readonly T[] | null, each: (w: this, item: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const item of items) each(this, item);
    return this;
  }
  /** Zigzag varint, as record fields use. */
  varint(v: number): this {
    let z = ((v << 1) ^ (v >> 31)) >>> 0;
    while (z >= 0x80) {
      this.int8((z & 0x7f) | 0x80);
      z >>>= 7;
    }
    return this.int8(z);
  }
  /** Zigzag varlong, as record timestamps use. */
  varlong(v: bigint): this {
    let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    while (z >= 0x80n) {
      this.int8(Number((z & 0x7fn) | 0x80n));
      z >>= 7n;
    }
    return this.int8(Number(z));
  }
  get length(): number {
    return this.#len;
  }
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

export class Reader {
  #view: DataView;
  pos = 0;
  constructor(readonly buf: Uint8Array) {
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  #need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new Error(
        `truncated Kafka response: need ${n} bytes at ${this.pos}/${this.buf.length}`,
      );
    }
  }
  int8(): number {
    this.#need(1);
    return this.#view.getInt8(this.pos++);
  }
  int16(): number {
    this.#need(2);
    const v = this.#view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.#need(4);
    const v = this.#view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }
  uint32(): number {
    this.#need(4);
    const v = this.#view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    this.#need(8);
    const v = this.#view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }
  bool(): boolean {
    return this.int8() !== 0;
  }
  raw(n: number): Uint8Array {
    this.#need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  string(): string | null {
    const n = this.int16();
    return n < 0 ? null : fromUtf8.decode(this.raw(n));
  }
  bytes(): Uint8Array | null {
    const n = this.int32();
    return n < 0 ? null : this.raw(n);
  }
  array<T>(each: (r: this) => T): T[] {
    const n = this.int32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
  varint(): number {
    let z = 0;
    let shift = 0;
    for (;;) {
      const b = this.int8() & 0xff;
      z |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw new Error("varint too long");
    }
    z >>>= 0;
    return (z >>> 1) ^ -(z & 1);
  }
  varlong(): bigint {
    let z = 0n;
    let shift = 0n;
    for (;;) {
      const b = BigInt(this.int8() & 0xff);
      z |= (b & 0x7fn) << shift;
      if ((b & 0x80n) === 0n) break;
      shift += 7n;
      if (shift > 63n) throw new Error("varlong too long");
    }
    return (z >> 1n) ^ -(z & 1n);
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
}

// ---- record batches (magic 2) ----

export interface KafkaRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: Array<[string, Uint8Array | null]>;
}

/** One uncompressed, non-transactional record batch with base offset 0. */
export function encodeRecordBatch(records: KafkaRecord[], timestampMs: bigint): Uint8Array {
  const body = new Writer(); // from attributes to the end: what the CRC covers
  body.int16(0) // attributes: no compression, CreateTime, not transactional, not control
    .int32(records.length - 1) // lastOffsetDelta
    .int64(timestampMs) // baseTimestamp
    .int64(timestampMs) // maxTimestamp
    .int64(-1n) // producerId
    .int16(-1) // producerEpoch
    .int32(-1) // baseSequence
    .int32(records.length);
  records.forEach((rec, i) => {
    const r = new Writer();
    r.int8(0).varlong(0n).varint(i); // attributes, timestampDelta, offsetDelta
    if (rec.key === null) r.varint(-1);
    else r.varint(rec.key.length).raw(rec.key);
    if (rec.value === null) r.varint(-1);
    else r.varint(rec.value.length).raw(rec.value);
    const headers = rec.headers ?? [];
    r.varint(headers.length);
    for (const [k, v] of headers) {
      const kb = utf8.encode(k);
      r.varint(kb.length).raw(kb);
      if (v === null) r.varint(-1);
      else r.varint(v.length).raw(v);
    }
    const encoded = r.finish();
    body.varint(encoded.length).raw(encoded);
  });
  const covered = body.finish();
  const out = new Writer();
  out.int64(0n) // baseOffset
    .int32(4 + 1 + 4 + covered.length) // batchLength: from partitionLeaderEpoch on
    .int32(-1) // partitionLeaderEpoch
    .int8(2) // magic
    .uint32(crc32c(covered))
    .raw(covered);
  return out.finish();
}

export interface DecodedRecord extends KafkaRecord {
  offset: bigint;
  timestampMs: bigint;
}

/** Decodes the uncompressed v2 record batches in a fetch response's record set. */
export function decodeRecordBatches(bytes: Uint8Array): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  const r = new Reader(bytes);
  while (r.remaining >= 12) {
    const baseOffset = r.int64();
    const batchLength = r.int32();
    if (r.remaining < batchLength) break; // a partial batch at the end of a fetch
    const batch = new Reader(r.raw(batchLength));
    batch.int32(); // partitionLeaderEpoch
    const magic = batch.int8();
    if (magic !== 2) throw new Error(`record batch magic ${magic}, expected 2`);
    const crc = batch.uint32();
    const covered = batch.buf.subarray(batch.pos);
    if (crc32c(covered) !== crc) throw new Error("record batch CRC32C mismatch");
    const attributes = batch.int16();
    if ((attributes & 0x07) !== 0) {
      throw new Error("compressed record batches are not decoded here");
    }
    batch.int32(); // lastOffsetDelta
    const baseTimestamp = batch.int64();
    batch.int64(); // maxTimestamp
    batch.int64(); // producerId
    batch.int16(); // producerEpoch
    batch.int32(); // baseSequence
    const count = batch.int32();
    for (let i = 0; i < count; i++) {
      const len = batch.varint();
      const rec = new Reader(batch.raw(len));
      rec.int8(); // attributes
      const timestampDelta = rec.varlong();
      const offsetDelta = rec.varint();
      const keyLen = rec.varint();
      const key = keyLen < 0 ? null : rec.raw(keyLen).slice();
      const valueLen = rec.varint();
      const value = valueLen < 0 ? null : rec.raw(valueLen).slice();
      const headers: Array<[string, Uint8Array | null]> = [];
      const headerCount = rec.varint();
      for (let h = 0; h < headerCount; h++) {
        const k = fromUtf8.decode(rec.raw(rec.varint()));
        const vLen = rec.varint();
        headers.push([k, vLen < 0 ? null : rec.raw(vLen).slice()]);
      }
      out.push({
        offset: baseOffset + BigInt(offsetDelta),
        timestampMs: baseTimestamp + timestampDelta,
        key,
        value,
        headers,
      });
    }
  }
  return out;
}

// ---- a connection ----

/** Kafka error codes the health check may meet, for readable messages. */
const ERRORS: Record<number, string> = {
  3: "UNKNOWN_TOPIC_OR_PARTITION",
  5: "LEADER_NOT_AVAILABLE",
  6: "NOT_LEADER_OR_FOLLOWER",
  7: "REQUEST_TIMED_OUT",
  35: "UNSUPPORTED_VERSION",
  14: "COORDINATOR_LOAD_IN_PROGRESS",
  15: "COORDINATOR_NOT_AVAILABLE",
  16: "NOT_COORDINATOR",
  36: "TOPIC_ALREADY_EXISTS",
  41: "NOT_CONTROLLER",
};

export class KafkaError extends Error {
  constructor(readonly code: number, what: string) {
    super(`${what}: Kafka error ${code} ${ERRORS[code] ?? ""}`.trim());
  }
}

export const API = {
  Produce: 0,
  Fetch: 1,
  Metadata: 3,
  OffsetFetch: 9,
  FindCoordinator: 10,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
} as const;

export class KafkaConnection {
  #conn: Deno.Conn;
  #correlation = 0;
  constructor(conn: Deno.Conn, readonly clientId: string) {
    this.#conn = conn;
  }

  static async open(host: string, port: number, clientId = "evochora-services"): Promise<
    KafkaConnection
  > {
    return new KafkaConnection(await Deno.connect({ hostname: host, port }), clientId);
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  async #readExactly(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const read = await this.#conn.read(out.subarray(got));
      if (read === null) throw new Error("Kafka broker closed the connection");
      got += read;
    }
    return out;
  }

  /**
   * Sends one request (header v1) and returns the response body after its header (v0). A broker
   * that does not answer within `timeoutMs` gets the connection closed, which fails the read.
   */
  async request(
    apiKey: number,
    apiVersion: number,
    body: Uint8Array,
    timeoutMs = 15_000,
  ): Promise<Reader> {
    const timer = setTimeout(() => this.close(), timeoutMs);
    try {
      return await this.#exchange(apiKey, apiVersion, body);
    } finally {
      clearTimeout(timer);
    }
  }

  async #exchange(apiKey: number, apiVersion: number, body: Uint8Array): Promise<Reader> {
    const correlationId = ++this.#correlation;
    const header = new Writer().int16(apiKey).int16(apiVersion).int32(correlationId).string(
      this.clientId,
    ).finish();
    const frame = new Writer().int32(header.length + body.length).raw(header).raw(body).finish();
    let written = 0;
    while (written < frame.length) written += await this.#conn.write(frame.subarray(written));
    const size = new DataView((await this.#readExactly(4)).buffer).getInt32(0);
    const response = new Reader(await this.#readExactly(size));
    const got = response.int32();
    if (got !== correlationId) {
      throw new Error(`Kafka correlation id ${got}, expected ${correlationId}`);
    }
    return response;
  }

  /** ApiVersions v0: the supported [min, max] version of every API. */
  async apiVersions(): Promise<Map<number, [number, number]>> {
    const r = await this.request(API.ApiVersions, 0, new Uint8Array());
    const error = r.int16();
    if (error !== 0) throw new KafkaError(error, "ApiVersions");
    const out = new Map<number, [number, number]>();
    r.array((x) => out.set(x.int16(), [x.int16(), x.int16()]));
    return out;
  }

  /** Metadata v4 for the given topics ([] = no topics, only brokers and controller). */
  async metadata(topics: string[]): Promise<{
    brokers: Array<{ nodeId: number; host: string; port: number }>;
    clusterId: string | null;
    controllerId: number;
    topics: Array<
      { error: number; name: string; partitions: Array<{ error: number; leader: number }> }
    >;
  }> {
    const body = new Writer().array(topics, (w, t) => w.string(t)).bool(false).finish();
    const r = await this.request(API.Metadata, 4, body);
    r.int32(); // throttle_time_ms
    const brokers = r.array((x) => {
      const nodeId = x.int32();
      const host = x.string() ?? "";
      const port = x.int32();
      x.string(); // rack
      return { nodeId, host, port };
    });
    const clusterId = r.string();
    const controllerId = r.int32();
    const topicList = r.array((x) => {
      const error = x.int16();
      const name = x.string() ?? "";
      x.bool(); // is_internal
      const partitions = x.array((p) => {
        const perror = p.int16();
        p.int32(); // partition_index
        const leader = p.int32();
        p.array((q) => q.int32()); // replica_nodes
        p.array((q) => q.int32()); // isr_nodes
        return { error: perror, leader };
      });
      return { error, name, partitions };
    });
    return { brokers, clusterId, controllerId, topics: topicList };
  }

  /** CreateTopics v2; returns the error code (0, or 36 when it already exists). */
  async createTopic(name: string, partitions: number, timeoutMs = 10_000): Promise<number> {
    const body = new Writer()
      .array([name], (w, t) => {
        w.string(t).int32(partitions).int16(1);
        w.array([], () => {}); // assignments
        w.array([], () => {}); // configs
      })
      .int32(timeoutMs)
      .bool(false) // validate_only
      .finish();
    const r = await this.request(API.CreateTopics, 2, body);
    r.int32(); // throttle_time_ms
    const results = r.array((x) => ({ name: x.string(), error: x.int16(), message: x.string() }));
    const res = results[0];
    if (!res) throw new Error("CreateTopics: empty response");
    return res.error;
  }

  /** Produce v3 of one record batch to one partition with acks=all; returns the base offset. */
  async produce(topic: string, partition: number, batch: Uint8Array, timeoutMs = 10_000): Promise<
    bigint
  > {
    const body = new Writer()
      .string(null) // transactional_id
      .int16(-1) // acks: all in-sync replicas
      .int32(timeoutMs)
      .array([topic], (w, t) => {
        w.string(t).array([partition], (pw, p) => pw.int32(p).bytes(batch));
      })
      .finish();
    const r = await this.request(API.Produce, 3, body);
    let result: { error: number; offset: bigint } | undefined;
    r.array((x) => {
      x.string();
      x.array((p) => {
        p.int32(); // index
        const error = p.int16();
        const offset = p.int64();
        p.int64(); // log_append_time_ms
        result = { error, offset };
      });
    });
    if (!result) throw new Error("Produce: empty response");
    if (result.error !== 0) throw new KafkaError(result.error, `Produce to ${topic}`);
    return result.offset;
  }

  /** Fetch v4 from one partition; returns the decoded records. */
  async fetch(topic: string, partition: number, offset: bigint, maxWaitMs = 2_000): Promise<
    DecodedRecord[]
  > {
    const body = new Writer()
      .int32(-1) // replica_id: a consumer
      .int32(maxWaitMs)
      .int32(1) // min_bytes
      .int32(1024 * 1024) // max_bytes
      .int8(0) // isolation_level: read uncommitted
      .array([topic], (w, t) => {
        w.string(t).array([partition], (pw, p) => pw.int32(p).int64(offset).int32(1024 * 1024));
      })
      .finish();
    const r = await this.request(API.Fetch, 4, body);
    r.int32(); // throttle_time_ms
    const records: DecodedRecord[] = [];
    r.array((x) => {
      x.string();
      x.array((p) => {
        p.int32(); // partition_index
        const error = p.int16();
        p.int64(); // high_watermark
        p.int64(); // last_stable_offset
        p.array((a) => [a.int64(), a.int64()]); // aborted_transactions
        const set = p.bytes();
        if (error !== 0) throw new KafkaError(error, `Fetch from ${topic}`);
        if (set) records.push(...decodeRecordBatches(set));
      });
    });
    return records;
  }

  /** FindCoordinator v1 for a consumer group; returns the error code (0 once it has one). */
  async findGroupCoordinator(group: string): Promise<number> {
    const body = new Writer().string(group).int8(0).finish(); // key_type 0: group
    const r = await this.request(API.FindCoordinator, 1, body);
    r.int32(); // throttle_time_ms
    return r.int16();
  }

  /** OffsetFetch v2 of all a group's offsets; returns the error code (14 while loading). */
  async offsetFetchAll(group: string): Promise<number> {
    const body = new Writer().string(group).int32(-1).finish(); // topics: null = all
    const r = await this.request(API.OffsetFetch, 2, body);
    r.array((t) => {
      t.string();
      t.array((p) => {
        p.int32();
        p.int64();
        p.string();
        p.int16();
      });
    });
    return r.int16();
  }

  /** DeleteTopics v1; returns the error code. */
  async deleteTopic(name: string, timeoutMs = 10_000): Promise<number> {
    const body = new Writer().array([name], (w, t) => w.string(t)).int32(timeoutMs).finish();
    const r = await this.request(API.DeleteTopics, 1, body);
    r.int32(); // throttle_time_ms
    const results = r.array((x) => ({ name: x.string(), error: x.int16() }));
    return results[0]?.error ?? -1;
  }
}

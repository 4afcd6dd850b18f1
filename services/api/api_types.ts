/**
 * JSON shapes of the query API: the contract between the API (services/api/) and the web
 * client (web/). Binary forms are protobuf messages from proto/ (e.g. WorldRegion).
 *
 * @module
 */

/** Error body of every 4xx/5xx answer. */
export interface ApiError {
  error: {
    /**
     * "bad_parameter" (400), "not_found" (404), "no_index" (404: the data needs an index the
     * indexers have not written yet), "internal" (500).
     */
    code: string;
    message: string;
    /** The offending parameter, for bad_parameter. */
    parameter?: string;
    /** For a tick that is not stored (404): the nearest sampled ticks, below and/or above. */
    nearestTicks?: number[];
  };
}

/**
 * A run's state in storage: `running` (no end record yet, recent progress), `finished` (its
 * end record is stored and what it names is there), `incomplete` (no end record and no
 * progress: the run died), `corrupt` (stored data that cannot be read, or lost).
 */
export type RunStateName = "running" | "finished" | "incomplete" | "corrupt";

/** GET /api/runs (newest first) */
export interface RunSummary {
  runId: string;
  state: RunStateName;
  /** Why, in one line. */
  stateReason: string;
  /** The tick the run's end record names, null until it has one. */
  endTick: number | null;
  /** When the run last stored something (ms since the epoch), null when unknown. */
  lastActivityMs: number | null;
  startedAtMs: number;
  seed: string;
  shape: number[];
  topology: "torus" | "bounded";
  minTick: number | null;
  maxTick: number | null;
  batches: number;
  storedBytes: number;
}
export interface RunsResponse {
  runs: RunSummary[];
  /** Runs whose metadata cannot be used (empty, malformed, inconsistent), with the reason. */
  unreadable: { runId: string; reason: string }[];
}

/** GET /api/runs/:run */
export interface RunDetail extends RunSummary {
  intervals: { sampling: number; accumulatedDelta: number; snapshot: number; chunk: number };
  engineVersion: string;
  moleculeTypes: string[];
  instructionNames: string[];
  programs: {
    name: string;
    origin: number[];
    energy: number;
    genomeHash: number;
    cellCount: number;
    source: string;
  }[];
  config: unknown;
  /** Files under the run's raw prefix that are not served (unreadable, stray, overlapping). */
  problems: { key: string; reason: string }[];
  /** Ticks between served batches that no batch holds (missing, or not written yet). */
  gaps: { after: number; before: number }[];
}

/** GET /api/runs/:run/ticks */
export interface TicksResponse {
  runId: string;
  minTick: number | null;
  maxTick: number | null;
  samplingInterval: number;
  /** How many ticks are sampled (the spans' counts summed). */
  count: number;
  /**
   * The sampled ticks, ascending, as arithmetic spans: `first`, `first + step`, ... `count`
   * ticks. A run sampled evenly is one span however long it runs; gaps and a changed interval
   * start a new span. (A list of every tick grew with the run: megabytes polled by clients.)
   */
  spans: { first: number; step: number; count: number }[];
}

/** GET /api/runs/:run/world/:tick?region=x0,y0,x1,y1 (JSON form; x1/y1 exclusive). */
export interface WorldResponse {
  runId: string;
  tick: number;
  shape: number[];
  /** Region: origin inclusive, size per dimension. */
  origin: number[];
  size: number[];
  /** Parallel columns over the non-empty or owned cells of the region. */
  cells: {
    /** World-flat index (x fastest). */
    flatIndex: number[];
    /** Packed molecule: bits 0-19 signed value, 20-23 type, 24-27 marker. */
    molecule: number[];
    owner: number[];
  };
}

/** One row of GET /api/runs/:run/organisms/:tick */
export interface OrganismSummary {
  id: number;
  parentId: number;
  birthTick: number;
  generation: number;
  energy: number;
  entropy: number;
  ip: number[];
  dv: number[];
  genomeHash: number;
  bodySize: number;
  children: number;
  alive: boolean;
  lastInstruction: string;
  lastFailed: boolean;
}
export interface OrganismsResponse {
  runId: string;
  tick: number;
  organisms: OrganismSummary[];
}

/** GET /api/runs/:run/organisms/:tick/:id */
export interface OrganismDetail extends OrganismSummary {
  tick: number;
  dataPointers: number[][];
  activeDp: number;
  /** Data registers as formatted molecules, e.g. "DATA:5". */
  dataRegisters: string[];
  locationRegisters: number[][];
  dataStack: string[];
  locationStack: number[][];
  callStack: number[][];
  marker: number;
  lastInstructionPosition: number[] | null;
  lastCost: number;
  failureReason: string;
  instructionsExecuted: number;
  deathReason: string;
}

/** GET /api/runs/:run/lineage?root=&depth= */
export interface LineageNode {
  id: number;
  parentId: number;
  birthTick: number;
  deathTick: number | null;
  generation: number;
  genomeHash: number;
  children: LineageNode[];
}
export interface LineageResponse {
  runId: string;
  /**
   * The organism `root` names. For root=0 (the default): a synthetic node for the run (id 0,
   * parentId 0, generation -1, birthTick 0) whose children are the placed organisms and any
   * organism whose parent never appeared in a sample. Children are ordered by id.
   */
  root: LineageNode;
  /** Nodes cut off by depth (or beyond the API's node limit, 20000 by default). */
  truncated: number;
  /** Batches left out because they could not be read, with the reason. */
  skipped?: { key: string; reason: string }[];
}

/** GET /api/runs/:run/stats?metrics=a,b&from=&to=&maxPoints= */
export interface StatsResponse {
  runId: string;
  metrics: string[];
  /** ticks[i] with series[m][i] for each metric m; when downsampled, each bucket's first tick. */
  ticks: number[];
  series: Record<string, number[]>;
  /** Rows per point when downsampled (1 = raw); each point is the mean of its rows. */
  bucket: number;
}

/** GET /api/pipeline */
export interface PipelineResponse {
  mode: "serve" | "in-process";
  services: {
    name: string;
    kind: string;
    state: string;
    error?: string;
    /** What the state is about, e.g. `waiting for broker 10.0.0.5:9092 (connection refused)`. */
    detail?: string;
    metrics: Record<string, number>;
  }[];
  resources: { name: string; kind: string; description: string; stats?: Record<string, unknown> }[];
  /**
   * Every service of the deployment, from the heartbeats on the config's status topic (any
   * process, any host); absent when the config names no status topic.
   */
  cluster?: {
    /** Silence after which a service shows as `lost`, ms. */
    lostAfterMs: number;
    services: {
      name: string;
      kind: string;
      host: string;
      pid: number;
      /** The state its last heartbeat reported, or `lost` when its process went silent. */
      state: string;
      /** The state its last heartbeat reported. */
      reportedState: string;
      error?: string;
      /** What the state is about (e.g. the endpoint a `waiting` service waits for). */
      detail?: string;
      metrics: Record<string, number>;
      /** Records not yet processed, when the service knows. */
      lag: number | null;
      /** When it was last seen, ms since the epoch. */
      lastSeenAt: number;
      /** Milliseconds since it was last seen. */
      ageMs: number;
    }[];
  };
}

/** Data of each SSE event "progress" on GET /api/runs/:run/live */
export interface LiveProgress {
  runId: string;
  /** The run's state; the stream ends once it is `finished`. */
  state: RunStateName;
  /** The engine's tick when the API runs beside the engine of this run, else maxStoredTick. */
  tick: number;
  maxStoredTick: number | null;
  ticksPerSecond: number;
  organismsAlive: number;
  batches: number;
}

/**
 * Data of the SSE event "end" on GET /api/runs/:run/live, sent once the run is finished, after
 * a last "progress"; the server then closes the stream.
 */
export interface LiveEnd {
  runId: string;
  state: "finished";
  /** The tick the run's end record names. */
  endTick: number;
}

/**
 * `deno task bench [filter]`: every hot path's benchmark, printed as Markdown.
 *
 * @module
 */

import { runSuites, type Suite } from "./_harness.ts";
import { chunkFigures, engineThroughput } from "./engine_bench.ts";
import { encoderThreadFigures } from "./encoder_bench.ts";
import { checkpointFigures } from "./checkpoint_bench.ts";
import { persistenceThroughput, pipelineVsEngine } from "./pipeline_bench.ts";
import { apiThroughput } from "./api_bench.ts";
import { s3Throughput } from "./s3_bench.ts";
import { kafkaThroughput } from "./kafka_bench.ts";
import { kafkaS3Throughput } from "./kafka_s3_bench.ts";
import { engineHostCost } from "./engine_host_bench.ts";
import { memorySteadyState } from "./memory_bench.ts";
import { storeSizeIndexing } from "./store_size_bench.ts";
import { pipelineGoals } from "./goals_bench.ts";
import { batchListFigures } from "./batch_list_bench.ts";

const SUITES: Suite[] = [
  engineThroughput,
  chunkFigures,
  encoderThreadFigures,
  checkpointFigures,
  persistenceThroughput,
  pipelineVsEngine,
  pipelineGoals,
  apiThroughput,
  batchListFigures,
  kafkaThroughput,
  s3Throughput,
  kafkaS3Throughput,
  engineHostCost,
  memorySteadyState,
  storeSizeIndexing,
];

if (import.meta.main) {
  await runSuites(SUITES, Deno.args[0] ?? "");
}

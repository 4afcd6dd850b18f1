/**
 * The pipeline runner and its typed configuration.
 *
 * @module
 */

export * from "./config.ts";
export * from "./pipeline.ts";
export * from "./resume_point.ts";
export * from "./run_extension.ts";
export type { Resource } from "./resources.ts";
export type { Service, ServiceState, ServiceStatus } from "../common/service.ts";

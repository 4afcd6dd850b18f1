/**
 * The EvoASM assembler: source text to placed molecules, and back.
 *
 * @module
 */

export { assemble, PLACE_LIMIT } from "./assembler.ts";
export { AssemblyError } from "./errors.ts";
export type { AssembleOptions, PlacedCell, ProgramArtifact, SourceRef } from "./artifact.ts";
export { posKey } from "./artifact.ts";
export { disassemble, disassembleProgram } from "./disassembler.ts";

import assert from "node:assert/strict";
import { AssemblyError } from "../services/simulation_engine/assembler/mod.ts";
import { ConfigError } from "../services/simulation_engine/runtime/mod.ts";
import { type EngineOrigin, engineSetupError, withoutSource } from "./engine_setup_error.ts";

const ORIGIN: EngineOrigin = {
  flagOf: (field) => (field.startsWith("shape") ? "--shape 2x2" : undefined),
  world: "--shape 2x2 with --program p.evo",
  fix: "choose another --shape or --program",
  program: { path: "/tmp/p.evo", assembledAs: "p.evo" },
};

Deno.test("a program's error keeps the kind of problem and drops the quoted source", () => {
  const e = new AssemblyError("p.evo", 3, 5, "unknown instruction 'root:x:0:0'");
  assert.equal(withoutSource(e), "unknown instruction '…'");
  const quoted = new AssemblyError("p.evo", 1, 1, "bad value 'it's' in 'DATA:it's'", "an integer");
  assert.equal(withoutSource(quoted), "bad value '…', expected an integer");
  const plain = new AssemblyError("p.evo", 2, 3, "SETI expects 2 arguments (R I), got 1");
  assert.equal(withoutSource(plain), "SETI expects 2 arguments (R I), got 1");
});

Deno.test("engine setup errors name the flag, the program file or the world", () => {
  const program = engineSetupError(new AssemblyError("p.evo", 1, 1, "bad register '%X'"), ORIGIN);
  assert.equal(program.message, "--program /tmp/p.evo:1:1: bad register '…'");
  assert.equal(program.exitCode, 2);
  const field = engineSetupError(new ConfigError("shape[0]", "expected 4..1048576, got 2"), ORIGIN);
  assert.equal(field.message, "--shape 2x2: Invalid config 'shape[0]': expected 4..1048576, got 2");
  const placed = engineSetupError(new RangeError("Cannot place program 'p'"), ORIGIN);
  assert.equal(
    placed.message,
    "--shape 2x2 with --program p.evo: Cannot place program 'p'; choose another --shape or --program",
  );
  const shipped = engineSetupError(
    new AssemblyError("ancestor.evo", 26, 8, "vector '-1|0'"),
    ORIGIN,
  );
  assert.match(
    shipped.message,
    /^--shape 2x2 with --program p.evo: ancestor.evo:26:8: vector '-1\|0'/,
  );
});

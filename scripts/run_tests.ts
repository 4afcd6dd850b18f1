/**
 * `deno task test`: every test, with what the suites need. Starts the local Kafka broker and S3
 * server (`deno task services:up`) unless their settings are in the environment already (CI
 * starts them itself), installs Debian's Chromium for the browser test when it is missing and
 * this runs as root with apt-get, and schemathesis (PyPI, into ~/.cache/evochora/venv) for the
 * API's schemathesis suite, runs `deno test -A` (arguments are passed on), and stops the
 * servers it started.
 *
 * @module
 */

const NEEDED = ["KAFKA_BOOTSTRAP_SERVERS", "AWS_ENDPOINT", "EVOCHORA_S3_BUCKET"];

async function sh(cmd: string, args: string[], env?: Record<string, string>): Promise<number> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
    ...(env ? { env } : {}),
  }).spawn();
  return (await child.status).code;
}

async function has(cmd: string): Promise<boolean> {
  try {
    return (await new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`] }).output()).success;
  } catch {
    return false;
  }
}

async function ensureChromium(): Promise<void> {
  if (Deno.env.get("EVOCHORA_CHROMIUM") || await has("chromium")) return;
  const root = Deno.uid?.() === 0;
  if (!root || !(await has("apt-get"))) {
    console.error(
      "test: Chromium is missing; the browser test will fail. Install it: apt-get install chromium",
    );
    return;
  }
  console.error("test: installing Chromium from Debian's packages for the browser test");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  await sh("apt-get", ["update", "-qq"], env);
  await sh("apt-get", ["install", "-y", "-qq", "chromium"], env);
}

function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim().replace(/^["']|["']$/g, "");
  }
  return out;
}

/** Installs schemathesis unless the pinned version is there (the script decides, quietly). */
async function ensureSchemathesis(): Promise<void> {
  if (Deno.env.get("EVOCHORA_SCHEMATHESIS")) return;
  const script = new URL("./provision_schemathesis.sh", import.meta.url).pathname;
  if (await sh("bash", [script]) !== 0) {
    console.error(
      "test: installing schemathesis failed (needs python3 and PyPI); the schemathesis suite " +
        "will fail",
    );
  }
}

if (import.meta.main) {
  await ensureChromium();
  await ensureSchemathesis();
  const deno = Deno.execPath();
  let started = false;
  const env: Record<string, string> = {};
  if (!NEEDED.every((n) => Deno.env.get(n))) {
    console.error(
      "test: starting Kafka and S3 (deno task services:up; the first time builds them)",
    );
    const up = await new Deno.Command(deno, {
      args: ["task", "services:up"],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!up.success) {
      console.error("test: services:up failed; the integration suites will fail");
    } else {
      started = true;
      Object.assign(env, parseEnv(new TextDecoder().decode(up.stdout)));
    }
  }
  let code: number;
  try {
    code = await sh(deno, ["test", "-A", ...Deno.args], { ...Deno.env.toObject(), ...env });
  } finally {
    if (started) await sh(deno, ["task", "services:down"]);
  }
  Deno.exit(code);
}

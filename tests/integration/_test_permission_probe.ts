/**
 * Run with a service process' permission flags by service_permissions_test.ts: tries what
 * the service must not do and what it must, and prints one JSON object of outcomes
 * ("ok", or the error's name and message).
 *
 *   deno run <flags> _test_permission_probe.ts '<json: { read?, write?, connect? }[]>'
 *
 * @module
 */

interface Attempt {
  read?: string;
  write?: string;
  connect?: { hostname: string; port: number };
}

async function attempt(a: Attempt): Promise<string> {
  try {
    if (a.read !== undefined) await Deno.readTextFile(a.read);
    if (a.write !== undefined) await Deno.writeTextFile(a.write, "probe");
    if (a.connect !== undefined) (await Deno.connect(a.connect)).close();
    return "ok";
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

const attempts = JSON.parse(Deno.args[0] ?? "[]") as Attempt[];
const out: string[] = [];
for (const a of attempts) out.push(await attempt(a));
console.log(JSON.stringify(out));

/// <reference lib="dom" />
/**
 * The URL hash `#run=&tick=&org=`: the place shown, so that a reload or a shared link opens
 * the same run, tick and organism.
 *
 * @module
 */

/** A place in the hash; a part missing or not a valid value is left out. */
export interface HashPlace {
  run?: string;
  tick?: number;
  org?: number;
}

/** The place in `location.hash`. */
export function parseHash(): HashPlace {
  const p = new URLSearchParams(location.hash.slice(1));
  const out: HashPlace = {};
  const run = p.get("run");
  if (run) out.run = run;
  if (p.get("tick") !== null && Number.isFinite(Number(p.get("tick")))) {
    out.tick = Number(p.get("tick"));
  }
  if (p.get("org") !== null && Number.isInteger(Number(p.get("org")))) {
    out.org = Number(p.get("org"));
  }
  return out;
}

/** Puts a place into the hash, replacing the history entry rather than adding one. */
export function writeHash(run: string, tick: number, org: number | null): void {
  const p = new URLSearchParams({ run, tick: String(tick) });
  if (org !== null) p.set("org", String(org));
  history.replaceState(null, "", `#${p}`);
}

/**
 * Reading the environment where a process may lack `--allow-env` for a variable: such a
 * variable reads as unset. Apart from the clients that use it, so that code which only reads
 * variables (the service launcher, the permissions of a process) loads no client.
 *
 * @module
 */

/** Reads an environment variable; returns undefined when unset or not permitted. */
export type EnvReader = (name: string) => string | undefined;

/** Deno.env.get that treats a missing --allow-env permission as "unset". */
export const denoEnv: EnvReader = (name) => {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
};

/**
 * The keys an indexer knows to exist: done keys and prerequisites. Storage never deletes, so
 * a key seen once is not looked up again; the catch-up forgets those its floors left behind.
 *
 * @module
 */

import type { Storage } from "../../resources/storage/storage.ts";

/** Keys known to exist (done keys and prerequisites; storage never deletes). */
export class KnownKeys {
  readonly #keys = new Set<string>();
  readonly #storage: Storage;

  /** Looks keys up in `storage`. */
  constructor(storage: Storage) {
    this.#storage = storage;
  }

  /** Whether `key` is known to exist (without asking storage). */
  has(key: string): boolean {
    return this.#keys.has(key);
  }

  /** `key` exists. */
  add(key: string): void {
    this.#keys.add(key);
  }

  /** Forgets `key` (nothing will ask about it any more). */
  delete(key: string): void {
    this.#keys.delete(key);
  }

  /** Whether `key` exists (remembered once seen: storage never deletes). */
  async exists(key: string): Promise<boolean> {
    if (this.#keys.has(key)) return true;
    if (await this.#storage.exists(key)) {
      this.#keys.add(key);
      return true;
    }
    return false;
  }
}

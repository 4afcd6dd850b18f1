/**
 * The query API's needs: it reads its storage (never writes it), listens on its host and
 * port, serves the web client, and reads the access token from the environment unless the
 * config sets one.
 *
 * @module
 */

import type { ServiceNeeds } from "../common/service_needs.ts";
import { API_TOKEN_ENV } from "./access_token.ts";

/** The fields of the API's resolved config that decide its needs. */
export interface ApiNeedsConfig {
  storage: string;
  host: string;
  port: number;
  webRoot?: string;
  token?: string;
}

/** What an http-api service with config `s` needs. */
export function apiNeeds(s: ApiNeedsConfig): ServiceNeeds {
  return {
    storages: [{ resource: s.storage, access: "read" }],
    messaging: [],
    listen: { host: s.host, port: s.port },
    env: s.token === undefined ? [API_TOKEN_ENV] : [],
    web: { root: s.webRoot },
  };
}

/// <reference lib="dom" />
/**
 * Entry point of the web client (bundled by `deno task web:build` into web/dist/).
 *
 * @module
 */

import "uplot/dist/uPlot.min.css";
import "./app.css";
import { App } from "./app.ts";

const app = new App();
app.start().catch((e) => app.status.showError(e));

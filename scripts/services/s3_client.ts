// A minimal S3 client (path-style, AWS Signature Version 4 over WebCrypto) for the SeaweedFS
// health check of `services:up`, with no dependencies. The project's own S3 code uses
// @aws-sdk/client-s3; this file only serves the service scripts.

const utf8 = new TextEncoder();

function hex(bytes: ArrayBuffer | Uint8Array): string {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? utf8.encode(data) : data;
  return hex(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

async function hmac(key: Uint8Array, data: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, utf8.encode(data)));
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX. */
export function uriEncode(s: string, keepSlash = false): string {
  let out = "";
  for (const byte of utf8.encode(s)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export interface SignInput {
  method: string;
  /** The path, not yet encoded (S3 encodes it once, keeping the slashes). */
  path: string;
  query: Record<string, string>;
  /** Lower-case names; must include host and x-amz-content-sha256. */
  headers: Record<string, string>;
  payloadHash: string;
  accessKey: string;
  secretKey: string;
  region: string;
  service: string;
  /** YYYYMMDD'T'HHMMSS'Z' */
  amzDate: string;
}

/** Returns the Authorization header value for the request. */
export async function signV4(input: SignInput): Promise<string> {
  const canonicalQuery = Object.keys(input.query)
    .map((k) => [uriEncode(k), uriEncode(input.query[k]!)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const names = Object.keys(input.headers).map((h) => h.toLowerCase()).sort();
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers)) {
    lower[k.toLowerCase()] = v.trim().replace(/\s+/g, " ");
  }
  const canonicalHeaders = names.map((n) => `${n}:${lower[n]}\n`).join("");
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    input.method,
    uriEncode(input.path, true),
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    input.payloadHash,
  ].join("\n");
  const day = input.amzDate.slice(0, 8);
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    input.amzDate,
    scope,
    await sha256Hex(canonicalRequest),
  ].join("\n");
  let key = await hmac(utf8.encode(`AWS4${input.secretKey}`), day);
  key = await hmac(key, input.region);
  key = await hmac(key, input.service);
  key = await hmac(key, "aws4_request");
  const signature = hex(await hmac(key, stringToSign));
  return `AWS4-HMAC-SHA256 Credential=${input.accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

export function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

export interface S3Options {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

export interface S3Response {
  status: number;
  headers: Headers;
  body: Uint8Array;
  text(): string;
}

export class S3Client {
  constructor(readonly opts: S3Options) {}

  /** One signed path-style request; `key` may be empty for bucket-level calls. */
  async send(
    method: string,
    bucket: string,
    key: string,
    init: { query?: Record<string, string>; headers?: Record<string, string>; body?: Uint8Array } =
      {},
  ): Promise<S3Response> {
    const url = new URL(this.opts.endpoint);
    const path = `/${bucket}${key ? `/${key}` : ""}`;
    const body = init.body ?? new Uint8Array();
    const payloadHash = await sha256Hex(body);
    const date = amzDate(new Date());
    const headers: Record<string, string> = {
      host: url.host,
      "x-amz-content-sha256": payloadHash,
      "x-amz-date": date,
    };
    for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v;
    const query = init.query ?? {};
    const authorization = await signV4({
      method,
      path,
      query,
      headers,
      payloadHash,
      accessKey: this.opts.accessKey,
      secretKey: this.opts.secretKey,
      region: this.opts.region,
      service: "s3",
      amzDate: date,
    });
    const qs = Object.entries(query).map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join("&");
    const target = `${url.protocol}//${url.host}${uriEncode(path, true)}${qs ? `?${qs}` : ""}`;
    const sendHeaders = new Headers();
    for (const [k, v] of Object.entries(headers)) if (k !== "host") sendHeaders.set(k, v);
    sendHeaders.set("authorization", authorization);
    const res = await fetch(target, {
      method,
      headers: sendHeaders,
      signal: AbortSignal.timeout(30_000),
      ...(method === "GET" || method === "HEAD" ? {} : { body: body as Uint8Array<ArrayBuffer> }),
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    return {
      status: res.status,
      headers: res.headers,
      body: bytes,
      text: () => new TextDecoder().decode(bytes),
    };
  }
}

/** The text of the first <tag>...</tag> in an XML document, or undefined. */
export function xmlTag(xml: string, tag: string): string | undefined {
  const m = xml.match(new RegExp(`<${tag}>([^<]*)</${tag}>`));
  return m?.[1];
}

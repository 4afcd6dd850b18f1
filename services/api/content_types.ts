/**
 * The representations the API answers in, and the Accept negotiation between them (only world
 * regions come in protobuf as well as JSON).
 *
 * @module
 */

/** Content type of protobuf answers. */
export const PROTOBUF = "application/x-protobuf";

/** Content type of JSON answers encoded by the API itself (not by `c.json`). */
export const JSON_TYPE = "application/json; charset=utf-8";

/** Whether the client asks for protobuf (Accept names it, with a non-zero quality). */
export function wantsProtobuf(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(",").some((part) => {
    const [type, ...params] = part.trim().split(";").map((s) => s.trim());
    if (type !== PROTOBUF && type !== "application/protobuf") return false;
    const q = params.find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

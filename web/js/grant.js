// Owns: calls to the signing function (openapi.yaml): POST /uploads for a grant, the multipart routes.
// No OSS, no DOM; failures leave as UploadFailure.
import { UploadFailure, functionFailure, functionUnreachable } from "./errors.js";

/**
 * Call a route of the function and resolve its JSON answer (null for 204). Sends `body` as JSON
 * when given and `token` as a bearer when set (never logged, never put in the page).
 */
export async function callFunction(apiBase, path, { method = "GET", body, signal, token = "" } = {}) {
  const headers = body === undefined ? {} : { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(apiBase + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: "no-store" });
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    throw functionUnreachable(apiBase);
  }
  const json = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw functionFailure(res.status, json, res.headers.get("Retry-After"));
  return json;
}

/**
 * Request a grant: {mode: "post", url, fields, key, expires_at, max_size, grant_id?} or a multipart
 * plan {mode: "multipart", upload_id, key, part_size, part_count, expires_at, …}.
 */
export async function requestGrant(apiBase, { filename, size, contentType }, signal, token = "") {
  const body = await callFunction(apiBase, "/uploads", {
    method: "POST", body: { filename, size, content_type: contentType }, signal, token });
  const plan = body && body.mode === "multipart";
  const ok = plan
    ? typeof body.upload_id === "string" && body.part_size > 0 && body.part_count > 0
    : body && typeof body.url === "string" && body.fields && typeof body.fields === "object";
  if (!ok) {
    throw new UploadFailure("bad_grant", "The signing service answered with something that is not an upload grant.");
  }
  return body;
}

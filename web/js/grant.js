// Owns: asking the signing function for one upload grant (POST {apiBase}/uploads).
// Must not talk to OSS or the DOM; failures leave as UploadFailure.
import { UploadFailure, functionFailure, functionUnreachable } from "./errors.js";

/** Request a grant {url, fields, key, expires_at, max_size, grant_id?}; send `token` as a bearer when set. */
export async function requestGrant(apiBase, { filename, size, contentType }, signal, token = "") {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`; // never logged, never put in the page
  let res;
  try {
    res = await fetch(`${apiBase}/uploads`, {
      method: "POST",
      headers,
      body: JSON.stringify({ filename, size, content_type: contentType }),
      signal,
      cache: "no-store",
    });
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    throw functionUnreachable(apiBase, location.origin);
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) throw functionFailure(res.status, body, res.headers.get("Retry-After"));
  if (!body || typeof body.url !== "string" || !body.fields || typeof body.fields !== "object") {
    throw new UploadFailure("bad_grant", "The signing service answered with something that is not an upload grant.");
  }
  return body;
}

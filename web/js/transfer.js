// Owns: requests to OSS through XHR (for upload progress): the PostObject form and multipart.js's part PUTs.
// No grants, no DOM; progress goes to a callback.
import { networkFailure, ossFailure, parseOssError } from "./errors.js";

/** POST `file` to grant.url; resolve {status, body, contentType} on success, reject with UploadFailure. */
export function postToOss(grant, file, onProgress, signal) {
  const form = new FormData(); // the grant's fields in order, then `file` last: OSS ignores anything after it
  for (const [name, value] of Object.entries(grant.fields)) form.append(name, String(value));
  form.append("file", file, file.name);
  return send("POST", grant.url, form, { onSent: onProgress, signal });
}

/**
 * Send `body` through XHR (for upload progress: `onSent(loaded, total or 0)`); resolve {status, body,
 * contentType} on a 2xx, else reject with an UploadFailure carrying `status` (0: network or CORS), or
 * with an AbortError when `signal` aborts.
 */
export function send(method, url, body, { headers = {}, onSent, signal }) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) { reject(new DOMException("cancelled", "AbortError")); return; }
    const xhr = new XMLHttpRequest();
    const abort = () => xhr.abort();
    const end = (settle, value) => { signal.removeEventListener("abort", abort); settle(value); };
    const fail = (status) => end(reject, Object.assign(status
      ? ossFailure(status, parseOssError(xhr.responseText)) : networkFailure(url.split("?")[0], location.origin, method),
    { status }));
    signal.addEventListener("abort", abort, { once: true });
    xhr.upload.addEventListener("progress", (e) => onSent(e.loaded, e.lengthComputable ? e.total : 0));
    xhr.addEventListener("load", () => {
      // 203 CallbackFailed is a success too: the object is stored, only the application's answer is missing.
      if (xhr.status < 200 || xhr.status > 299) fail(xhr.status);
      else end(resolve, { status: xhr.status, body: xhr.responseText, contentType: xhr.getResponseHeader("Content-Type") || "" });
    });
    xhr.addEventListener("error", () => fail(0));
    xhr.addEventListener("abort", () => end(reject, new DOMException("cancelled", "AbortError")));
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.send(body);
  });
}

/** Describe a success: key, size, the application's answer (JSON, else text) or, on 203, OSS's message. */
export function describeSuccess(grant, file, result) {
  const out = { key: grant.key, size: file.size, answer: null, unconfirmed: null };
  if (result.status === 201 && result.body.includes("<PostResponse")) {
    const doc = new DOMParser().parseFromString(result.body, "application/xml");
    out.key = doc.querySelector("PostResponse > Key")?.textContent || out.key;
  } else if (result.status === 203) {
    out.unconfirmed = parseOssError(result.body)?.message || "";
  } else if (result.status === 200 && result.body.trim()) {
    try { out.answer = JSON.parse(result.body); } catch { out.answer = result.body.slice(0, 2000); }
  }
  return out;
}

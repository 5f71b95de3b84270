// Owns: one multipart POST of a file to OSS with a grant, through XHR for upload progress.
// The form is the grant's fields in the order given, then `file` last (OSS ignores anything after it).
// Must not request grants or touch the DOM; it reports progress through a callback.
import { UploadFailure, networkFailure, ossFailure, parseOssError } from "./errors.js";

/** POST `file` to grant.url; resolve {status, body, contentType} on success, reject with UploadFailure. */
export function postToOss(grant, file, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(grant.fields)) form.append(name, String(value));
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    const abort = () => xhr.abort();
    signal.addEventListener("abort", abort, { once: true });
    const done = () => signal.removeEventListener("abort", abort);
    xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0));
    xhr.addEventListener("load", () => {
      done();
      const body = xhr.responseText;
      // 203 CallbackFailed is a success too: the object is stored, only the application's answer is missing.
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve({ status: xhr.status, body, contentType: xhr.getResponseHeader("Content-Type") || "" });
      } else if (xhr.status === 0) {
        reject(networkFailure(grant.url, location.origin));
      } else {
        reject(ossFailure(xhr.status, parseOssError(body)));
      }
    });
    xhr.addEventListener("error", () => { done(); reject(networkFailure(grant.url, location.origin)); });
    xhr.addEventListener("timeout", () => { done(); reject(new UploadFailure("timeout", "The upload timed out.")); });
    xhr.addEventListener("abort", () => { done(); reject(new DOMException("cancelled", "AbortError")); });
    if (signal.aborted) { done(); reject(new DOMException("cancelled", "AbortError")); return; }
    xhr.open("POST", grant.url);
    xhr.send(form);
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

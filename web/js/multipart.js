// Owns: one multipart upload through the function's routes (openapi.yaml): stored parts (GET), part URLs
// in batches (POST …/parts), PUTs to OSS `concurrency` at a time with bounded backoff, POST …/complete. No DOM.
import { UploadFailure } from "./errors.js";
import { callFunction } from "./grant.js";
import { send } from "./transfer.js";

const BATCH = 20; // part URLs per call (the function takes 1..100)
const RETRIES = 5; // more attempts per part after a network error, 5xx, 408, 429 or a first 403
const FRESH_MS = 30000; // a part URL expiring sooner is signed again

const route = (plan) => `/uploads/${encodeURIComponent(plan.upload_id)}`;
const partSize = (plan, size, n) => (n < plan.part_count ? plan.part_size : size - (plan.part_count - 1) * plan.part_size);

/** Map part number → size of the parts storage already holds. */
export async function storedParts(apiBase, plan, opts) {
  const body = await callFunction(apiBase, route(plan), opts);
  return new Map(((body && body.parts) || []).map((p) => [p.part_number, p.size]));
}

/** Abort the upload (DELETE /uploads/{upload_id}; idempotent). */
export const abortUpload = (apiBase, plan, token) => callFunction(apiBase, route(plan), { method: "DELETE", token });

/**
 * Send the parts storage lacks, then complete; resolve the completion answer {key, etag, size, …}.
 * `onProgress(bytes, {stored, resumed})`: bytes stored or in flight, parts stored, parts stored
 * before this run. Rejects with UploadFailure, or AbortError when `signal` aborts.
 */
export async function sendMultipart(apiBase, plan, file, { signal, token, concurrency, onProgress }) {
  for (let round = 0; ; round += 1) {
    const have = await storedParts(apiBase, plan, { signal, token });
    const todo = [];
    let bytes = 0;
    for (let n = 1; n <= plan.part_count; n += 1) {
      if (have.get(n) === partSize(plan, file.size, n)) bytes += have.get(n);
      else todo.push(n);
    }
    await sendParts(apiBase, plan, file, todo, { signal, token, concurrency, bytes, onProgress });
    try {
      return await callFunction(apiBase, `${route(plan)}/complete`, { method: "POST", body: {}, signal, token });
    } catch (e) {
      if (e.code !== "parts_mismatch" || round) throw e; // a part lost after its 200: list and resend, once
    }
  }
}

async function sendParts(apiBase, plan, file, todo, { signal, token, concurrency, bytes, onProgress }) {
  const inner = new AbortController(); // one part failing for good stops the others
  const stop = () => inner.abort();
  signal.addEventListener("abort", stop, { once: true });
  const urls = new Map();
  const signing = new Map();
  const flying = new Map();
  const resumed = plan.part_count - todo.length;
  let parts = resumed;
  const report = () => onProgress([...flying.values()].reduce((a, b) => a + b, bytes), { stored: parts, resumed });
  const fresh = (p) => p && Date.parse(p.expires_at || plan.expires_at) - Date.now() > FRESH_MS;

  const urlFor = async (n) => {
    if (signing.has(n)) await signing.get(n); // no await otherwise: the batch must be claimed at once
    if (fresh(urls.get(n))) return urls.get(n);
    const batch = [n, ...todo.filter((m) => m !== n && !fresh(urls.get(m)) && !signing.has(m))].slice(0, BATCH);
    const call = callFunction(apiBase, `${route(plan)}/parts`,
      { method: "POST", body: { part_numbers: batch }, signal: inner.signal, token })
      .then((body) => { for (const p of (body && body.parts) || []) urls.set(p.part_number, p); })
      .finally(() => batch.forEach((m) => signing.delete(m)));
    batch.forEach((m) => signing.set(m, call.catch(() => {})));
    await call;
    if (!urls.has(n)) throw new UploadFailure("bad_grant", `The signing service did not sign part ${n}.`);
    return urls.get(n);
  };

  const sendOne = async (n) => {
    const start = (n - 1) * plan.part_size;
    const size = partSize(plan, file.size, n);
    for (let attempt = 0; ; attempt += 1) {
      try {
        const part = await urlFor(n);
        await send(part.method || "PUT", part.url, file.slice(start, start + size),
          { headers: part.headers, onSent: (sent) => { flying.set(n, sent); report(); }, signal: inner.signal });
        flying.delete(n);
        bytes += size;
        parts += 1;
        report();
        return;
      } catch (e) {
        flying.delete(n);
        report();
        const s = e.status;
        if (!(s === 0 || s >= 500 || s === 408 || s === 429 || (s === 403 && !attempt)) || attempt >= RETRIES) throw e;
        if (s === 403) urls.delete(n); // an expired URL: sign the part again
        await sleep(Math.min(500 * 2 ** attempt, 8000) * (0.5 + Math.random() / 2), inner.signal);
      }
    }
  };

  const queue = [...todo];
  const worker = async () => {
    for (let n = queue.shift(); n; n = queue.shift()) {
      todo.splice(todo.indexOf(n), 1);
      await sendOne(n);
    }
  };
  report();
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, () => worker().catch((e) => {
      stop();
      throw e;
    })));
  } finally {
    signal.removeEventListener("abort", stop);
  }
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const stop = () => { clearTimeout(timer); reject(new DOMException("cancelled", "AbortError")); };
    const timer = setTimeout(() => { signal.removeEventListener("abort", stop); resolve(); }, ms);
    signal.addEventListener("abort", stop, { once: true });
  });
}

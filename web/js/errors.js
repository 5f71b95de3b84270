// Owns: the page's error type and the wording of every failure (function JSON and OSS XML errors).
// No requests, no DOM (DOMParser only reads XML text).

/** A failed step; `message` is for people, `code` is stable for tests and logic. */
export class UploadFailure extends Error {
  constructor(code, message, { expiredPolicy = false, final = false, retryAfter = 0, lead = "" } = {}) {
    super(message);
    this.code = code;
    this.final = final; // retrying the same file cannot help (too large, wrong type)
    this.expiredPolicy = expiredPolicy; // AccessDenied "Policy expired": a fresh grant fixes it
    this.retryAfter = retryAfter; // seconds the page may wait before its one automatic retry (0 = none)
    this.lead = lead;
  }
}

/** Longest Retry-After the page waits for by itself; longer ones are left to the person. */
export const MAX_AUTO_WAIT = 60;

/** The countdown line shown while waiting out a 429/503 before the automatic retry. */
export function waitMessage(failure, left) {
  return `${failure.lead}. Trying again automatically in ${left} s…`;
}

const FUNCTION_WORDING = {
  400: "The signing service refused the request",
  401: "You are not signed in, or your sign-in has expired. Sign in again, then press Retry",
  413: "This file is too large for this site",
  415: "This file type is not accepted by this site",
  422: "The signing service could not accept this file",
  429: "Too many uploads right now",
  503: "The signing service is busy or unavailable",
};

/** Map a non-2xx answer of POST /uploads to an UploadFailure. */
export function functionFailure(status, body, retryAfter) {
  const err = body && typeof body === "object" && body.error ? body.error : {};
  const lead = FUNCTION_WORDING[status] || `The signing service answered HTTP ${status}`;
  const detail = typeof err.message === "string" && err.message && status !== 401 ? `: ${err.message}` : "";
  const busy = status === 429 || status === 503;
  const secs = busy && /^\d+$/.test(retryAfter || "") ? Number(retryAfter) : 0;
  const wait = secs ? ` Try again in ${secs} s.` : busy ? " Try again shortly." : "";
  const text = `${lead}${detail}.${wait}`.replace(/\.\./g, ".");
  return new UploadFailure(err.code || `http_${status}`, text, {
    final: [413, 415, 422].includes(status), lead, retryAfter: secs <= MAX_AUTO_WAIT ? secs : 0 });
}

/** Explain that the signing function could not be reached at all. */
export const functionUnreachable = (apiBase) => new UploadFailure("function_unreachable",
  `Could not reach the signing service at ${apiBase}. Check your connection, then press Retry.`);

/** Explain an XHR that ended with status 0: the browser hid the answer (CORS) or the network failed. */
export function networkFailure(ossUrl, origin, method = "POST") {
  return new UploadFailure(
    "network_or_cors",
    `The upload to ${ossUrl} failed before storage answered. Check your connection; if it persists, ` +
      `the bucket's CORS rule probably does not allow this page: add a rule with AllowedOrigin ${origin} ` +
      `and AllowedMethod ${method}.`,
  );
}

/** Read <Error><Code>…</Code><Message>…</Message></Error>; null when the body is not OSS XML. */
export function parseOssError(text) {
  if (!text || !text.includes("<Error")) return null;
  const doc = new DOMParser().parseFromString(text, "application/xml");
  const pick = (name) => doc.querySelector(`Error > ${name}`)?.textContent?.trim() || "";
  const code = pick("Code");
  return code ? { code, message: pick("Message") } : null;
}

/** Map an OSS failure (status + parsed XML) to an UploadFailure a person can act on. */
export function ossFailure(status, parsed) {
  const code = parsed ? parsed.code : `http_${status}`;
  const said = parsed && parsed.message ? ` Storage said: "${parsed.message}"` : "";
  const expired = code === "AccessDenied" && /policy expired/i.test(parsed?.message || "");
  const creds = "The temporary upload credentials were not accepted. Retry to get new ones";
  const text = {
    AccessDenied: expired
      ? "The upload permission expired before the file reached storage. Retry to get a new one."
      : "Storage refused the upload under the permission it was given",
    EntityTooLarge: "The file is larger than storage accepts for this upload",
    EntityTooSmall: "The file is smaller than storage accepts for this upload (is it empty?)",
    FileAlreadyExists:
      "Something is already stored under the key this upload was given, and overwriting is not allowed, " +
      "so nothing was replaced. Retry to upload under a new key",
    SignatureDoesNotMatch: "Storage rejected the upload signature. Please tell the site owner",
    InvalidAccessKeyId: creds,
    SecurityTokenExpired: "The temporary upload credentials have expired. Retry to get new ones",
    InvalidSecurityToken: creds,
    RequestTimeTooSkewed: "The upload service's clock is wrong. Please tell the site owner",
  }[code];
  // OSS's own words only for a code without a sentence here.
  const message = text ? text.replace(/\.?$/, ".") : `Storage refused the upload (${code}).${said}`;
  return new UploadFailure(code, message, {
    expiredPolicy: expired, final: /^EntityToo/.test(code) });
}

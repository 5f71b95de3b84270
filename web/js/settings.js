// Owns: where the signing function lives and which limits the page mirrors before any request.
// Reads window.OSS_UPLOAD_CONFIG (written by config.js, see web/README.md), the ?api= parameter
// and the caller's bearer token, which the hosting site puts in sessionStorage.
// Must not touch the DOM or upload anything; the server stays the authority on every limit.

/**
 * Resolve {apiBase, maxBytes, allowedTypes, concurrency, partConcurrency, tokenKey} from config.js and the
 * query string. concurrency: files at once (1..6, default 3); partConcurrency: parts of one multipart
 * file in flight at once (1..8, default 4).
 */
export function readSettings(global, search) {
  const cfg = global.OSS_UPLOAD_CONFIG || {};
  const override = new URLSearchParams(search).get("api");
  const apiBase = cleanBase(override) || cleanBase(cfg.apiBase) || "";
  return {
    apiBase,
    maxBytes: positive(cfg.maxBytes),
    allowedTypes: Array.isArray(cfg.allowedTypes) ? cfg.allowedTypes.map(String) : null,
    concurrency: Math.min(positive(cfg.concurrency) || 3, 6),
    partConcurrency: Math.min(positive(cfg.partConcurrency) || 4, 8),
    tokenKey: typeof cfg.tokenStorageKey === "string" && cfg.tokenStorageKey ? cfg.tokenStorageKey : "oss-upload-token",
  };
}

/** The bearer token the hosting site stored, or "" (read per request: the site may sign in later). */
export function readToken(global, key) {
  try { return (global.sessionStorage.getItem(key) || "").trim(); } catch { return ""; } // storage blocked
}

/** Merge limits the function advertises on GET /healthz (when it does) over config.js values. */
export async function fetchLimits(settings, fetchImpl = fetch) {
  if (!settings.apiBase) return settings;
  try {
    const res = await fetchImpl(settings.apiBase + "/healthz", { cache: "no-store" });
    if (!res.ok) return settings;
    const body = await res.json();
    const limits = body && typeof body === "object" ? body.limits || body : {};
    const max = positive(limits.max_size ?? limits.max_bytes);
    const types = limits.allowed_types ?? limits.allowed_content_types;
    return {
      ...settings,
      maxBytes: max || settings.maxBytes,
      allowedTypes: Array.isArray(types) && types.length ? types.map(String) : settings.allowedTypes,
    };
  } catch {
    return settings; // unreachable or not JSON: keep config.js values, the grant request will tell
  }
}

/** Return a reason this file cannot be uploaded, or null; mirrors the server's size/type checks. */
export function precheck(file, settings) {
  if (settings.maxBytes && file.size > settings.maxBytes) {
    return `This file is ${formatBytes(file.size)}; the largest allowed is ${formatBytes(settings.maxBytes)}.`;
  }
  if (settings.allowedTypes && !typeAllowed(contentType(file), settings.allowedTypes)) {
    return `Files of type "${contentType(file)}" are not accepted. Allowed: ${settings.allowedTypes.join(", ")}.`;
  }
  return null;
}

/** The content type announced to the signer and to OSS (browsers leave unknown types empty). */
export function contentType(file) {
  return file.type || "application/octet-stream";
}

function typeAllowed(type, allowed) {
  const t = type.toLowerCase().split(";")[0].trim();
  return allowed.some((a) => {
    const p = a.toLowerCase();
    return p === t || p === "*/*" || (p.endsWith("/*") && t.startsWith(p.slice(0, -1)));
  });
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n;
  let i = -1;
  do { v /= 1024; i += 1; } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function cleanBase(value) {
  if (typeof value !== "string" || !/^https?:\/\/[^\s]+$/i.test(value.trim())) return "";
  return value.trim().replace(/\/+$/, "");
}

function positive(value) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

// Owns: the page's settings (config.js's window.OSS_UPLOAD_CONFIG, web/README.md), the limits it
// mirrors, the bearer token the site stores, size wording. No DOM, no uploads: the server decides limits.

/**
 * Resolve {apiBase, maxBytes, allowedTypes, concurrency, partConcurrency, tokenKey} from config.js; no
 * override from the page URL (the published CSP lets the page reach only the function it names).
 * concurrency: files at once (1..6, default 3); partConcurrency: parts in flight per file (1..8, default 4).
 */
export function readSettings(global) {
  const cfg = global.OSS_UPLOAD_CONFIG || {};
  return {
    apiBase: /^https?:\/\/\S+$/.test(cfg.apiBase) ? cfg.apiBase.replace(/\/+$/, "") : "",
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
    const max = positive(limits.max_size);
    const types = limits.allowed_types;
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

/** Size in decimal units as file managers show them: "1 byte", "999 bytes", "1.0 kB", "20 MB". */
export function formatBytes(n) {
  if (n < 1000) return `${n} byte${n === 1 ? "" : "s"}`;
  let v = n / 1000;
  let i = 0;
  const fixed = () => v.toFixed(v < 9.95 ? 1 : 0);
  while (fixed() >= 1000 && i < 3) { v /= 1000; i += 1; } // 999,999 bytes is "1.0 MB", not "1000 kB"
  return `${fixed()} ${["kB", "MB", "GB", "TB"][i]}`;
}

function positive(value) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

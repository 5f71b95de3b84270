// Owns: the page — file selection (picker and drag & drop), the per-file list, buttons and announcements.
// Upload steps live in grant.js (signing function), transfer.js (one POST to OSS) and multipart.js
// (parts, resume); resume.js remembers unfinished multipart uploads; wording in errors.js.
// Test hooks: data-* attributes on each <li> and <body data-ready>, listed in web/README.md.
import { UploadFailure, waitMessage } from "./errors.js";
import { requestGrant } from "./grant.js";
import { describeSuccess, postToOss } from "./transfer.js";
import { abortUpload, sendMultipart, storedParts } from "./multipart.js";
import { forget, recall, remember } from "./resume.js";
import { createQueue } from "./queue.js";
import { contentType, fetchLimits, formatBytes, precheck, readSettings, readToken } from "./settings.js";

const $ = (id) => document.getElementById(id);
const picker = $("picker");
const list = $("files");
const startButton = $("start");
const clearButton = $("clear");
const items = [];
let settings = readSettings(window, location.search);
const queue = createQueue(settings.concurrency, upload);
// Function error codes meaning an upload id is of no use any more (openapi.yaml).
const GONE = new Set(["no_such_upload", "upload_expired", "invalid_upload_id", "already_completed"]);
const LABEL = { ready: "Ready", queued: "Waiting", signing: "Preparing", waiting: "Busy, will retry",
  uploading: "Uploading", paused: "Paused", done: "Uploaded",
  error: "Failed", cancelled: "Cancelled", rejected: "Not allowed" };

function announce(text) { $("status").textContent = text; }

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function addFiles(files) {
  const added = [...files].map((file) => {
    const item = { file, state: "ready", events: 0, loaded: 0, renewals: 0, waits: 0, ctrl: null };
    item.view = renderItem(item);
    items.push(item);
    const reason = precheck(file, settings);
    setState(item, reason ? "rejected" : "ready", reason || "");
    if (!reason) offerResume(item);
    return item;
  });
  const refused = added.filter((i) => i.state === "rejected").length;
  announce(`${added.length} file(s) added${refused ? `, ${refused} not allowed` : ""}. ` +
    (added.length > refused ? "Press Upload to start." : ""));
  refreshButtons();
}

function renderItem(item) {
  const name = item.file.name;
  const v = {
    state: el("span", { className: "file-state" }),
    bar: el("progress", { max: item.file.size || 1, value: 0 }),
    meta: el("div", { className: "file-meta" }),
    msg: el("p", { className: "file-msg" }),
    result: el("div"),
    cancel: el("button", { type: "button", className: "secondary", textContent: "Cancel" }),
    retry: el("button", { type: "button", textContent: "Retry" }),
    pause: el("button", { type: "button", className: "secondary", textContent: "Pause" }),
    resume: el("button", { type: "button", textContent: "Resume" }),
  };
  v.pause.setAttribute("aria-label", `Pause ${name}`);
  v.resume.setAttribute("aria-label", `Resume ${name}`);
  v.pause.addEventListener("click", () => pause(item));
  v.resume.addEventListener("click", () => enqueue(item));
  v.bar.setAttribute("aria-label", `Progress of ${name}`);
  v.cancel.setAttribute("aria-label", `Cancel ${name}`);
  v.retry.setAttribute("aria-label", `Retry ${name}`);
  v.cancel.addEventListener("click", () => cancel(item));
  v.retry.addEventListener("click", () => enqueue(item));
  v.root = el("li", { className: "file" },
    el("div", { className: "file-head" }, el("span", { className: "file-name", textContent: name }), v.state),
    v.bar, v.meta, v.msg, v.result, el("div", { className: "file-buttons" }, v.pause, v.resume, v.cancel, v.retry));
  v.root.dataset.name = name;
  list.append(v.root);
  return v;
}

function setState(item, state, message, code = "") {
  item.state = state;
  const v = item.view;
  v.root.dataset.state = state;
  v.root.dataset.errorCode = code;
  v.state.textContent = LABEL[state];
  v.msg.textContent = message;
  const active = ["queued", "signing", "waiting", "uploading", "paused"].includes(state);
  const buttons = [v.pause, v.resume, v.cancel, v.retry];
  const focused = document.activeElement;
  v.cancel.hidden = !active || item.joining;
  v.retry.hidden = !(state === "error" || state === "cancelled");
  v.pause.hidden = !(state === "uploading" && item.plan) || item.joining;
  v.resume.hidden = state !== "paused";
  // Keep keyboard users on this entry when their button disappears.
  if (buttons.includes(focused) && focused.hidden) (buttons.find((b) => !b.hidden) || picker).focus();
  if (!["uploading", "paused", "done"].includes(state)) showBytes(item, 0);
  refreshButtons();
}

function showBytes(item, fraction) {
  const v = item.view;
  const size = item.file.size;
  const sent = Math.round(size * fraction);
  v.bar.value = sent;
  // Speed and time left count only this run's bytes (not parts stored before a pause or reload).
  const secs = item.started ? (performance.now() - item.started) / 1000 : 0;
  const rate = secs > 0.2 ? (sent - (item.base || 0)) / secs : 0;
  const left = rate > 0 && sent < size ? ` · ${duration((size - sent) / rate)} left` : "";
  const speed = rate > 0 && item.state === "uploading" ? ` · ${formatBytes(Math.round(rate))}/s${left}` : "";
  v.meta.textContent = `${formatBytes(sent)} of ${formatBytes(size)}${speed}`;
}

function duration(secs) {
  const s = Math.ceil(secs);
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor(s / 60) % 60} min`;
}

function onProgress(item, loaded, total) {
  item.events += 1;
  item.loaded = loaded;
  item.view.root.dataset.progressEvents = String(item.events);
  item.view.root.dataset.loaded = String(loaded);
  showBytes(item, total ? Math.min(loaded / total, 1) : 0);
}

function enqueue(item) {
  if (!["ready", "error", "cancelled", "paused"].includes(item.state)) return;
  item.ctrl = new AbortController();
  item.pausing = false;
  setState(item, "queued", "Waiting for a free slot…");
  queue.add(item);
}

function cancel(item) {
  const idle = item.state === "paused" || (item.state === "queued" && queue.drop(item));
  if (idle && item.plan) dropPlan(item);
  else if (idle) finish(item, "cancelled", "Cancelled before it started.");
  else if (item.ctrl) item.ctrl.abort();
}

function pause(item) {
  if (item.state !== "uploading" || !item.plan) return;
  item.pausing = true;
  item.ctrl.abort();
}

/** Abort the multipart upload at the function (DELETE), forget it and show the file as cancelled. */
function dropPlan(item) {
  const plan = item.plan;
  item.plan = null;
  forget(item.file);
  finish(item, "cancelled", "Cancelled; the parts sent were deleted.");
  abortUpload(settings.apiBase, plan, readToken(window, settings.tokenKey)).then(
    () => { item.view.root.dataset.aborted = "true"; },
    (e) => { item.view.root.dataset.aborted = e.code || "failed"; });
}

/** A file picked again after a reload: show how much of its earlier upload storage already holds. */
async function offerResume(item) {
  const plan = recall(item.file);
  if (!plan) return;
  item.plan = plan;
  try {
    const have = await storedParts(settings.apiBase, plan, { token: readToken(window, settings.tokenKey) });
    if (item.plan !== plan || item.state !== "ready") return;
    item.view.root.dataset.resumable = String(have.size);
    setState(item, "ready", `Started before: ${have.size} of ${plan.part_count} parts already stored. ` +
      "Press Upload to send the rest.");
  } catch (e) {
    if (!GONE.has(e.code) || item.plan !== plan) return;
    item.plan = null; // expired or unknown: start afresh
    forget(item.file);
  }
}

function finish(item, state, message, code = "") {
  setState(item, state, message, code);
  const name = item.file.name;
  announce(state === "done" ? `${name} uploaded. ${message}` : `${name}: ${message}`);
  if (state === "done") item.view.retry.hidden = true;
}

async function upload(item) {
  if (item.state !== "queued") return;
  const reason = precheck(item.file, settings);
  if (reason) { finish(item, "rejected", reason); return; }
  const { file, ctrl } = item;
  let renewed = false;
  let waited = false;
  let restarted = false;
  try {
    for (;;) {
      if (item.plan) {
        try {
          await uploadParts(item);
          return;
        } catch (e) {
          if (!GONE.has(e.code)) throw e;
          item.plan = null; // a Retry starts afresh
          forget(file);
          // An upload remembered from before a reload that the function no longer knows: start afresh now.
          if (!item.view.root.dataset.resumable || restarted) throw e;
          restarted = true;
        }
      }
      setState(item, "signing", "Asking for permission to upload…");
      let grant;
      try {
        grant = await requestGrant(settings.apiBase,
          { filename: file.name, size: file.size, contentType: contentType(file) }, ctrl.signal,
          readToken(window, settings.tokenKey));
      } catch (e) {
        // 429/503 with a short Retry-After: wait it out visibly, then ask once more.
        if (!(e instanceof UploadFailure && e.retryAfter) || waited) throw e;
        waited = true;
        await countdown(item, e, ctrl.signal);
        continue;
      }
      item.view.root.dataset.key = grant.key || "";
      if (grant.mode === "multipart") {
        item.plan = grant;
        remember(file, grant);
        continue;
      }
      item.base = 0;
      item.started = performance.now();
      setState(item, "uploading", renewed ? "Permission renewed; uploading…" : "Uploading…");
      try {
        const result = await postToOss(grant, file, (l, t) => onProgress(item, l, t), ctrl.signal);
        showBytes(item, 1);
        const info = describeSuccess(grant, file, result);
        finish(item, "done", info.unconfirmed === null ? "Stored." : "Stored, but the application did not confirm it.");
        showResult(item, info, grant);
        return;
      } catch (e) {
        // An expired policy is fixed by a fresh grant; do that once without asking the person.
        if (!(e instanceof UploadFailure && e.expiredPolicy) || renewed) throw e;
        renewed = true;
        item.renewals += 1;
        item.view.root.dataset.renewals = String(item.renewals);
      }
    }
  } catch (e) {
    if (e && e.name === "AbortError" && item.pausing) setState(item, "paused", "Paused. Press Resume to go on.");
    else if (e && e.name === "AbortError" && item.plan) dropPlan(item);
    else if (e && e.name === "AbortError") finish(item, "cancelled", "Cancelled.");
    else if (e instanceof UploadFailure) finish(item, e.final ? "rejected" : "error", e.message, e.code);
    else finish(item, "error", `Unexpected problem: ${e && e.message}`, "unexpected");
  }
}

/** Send a multipart upload's missing parts and complete it (item.plan from a grant or a reload). */
async function uploadParts(item) {
  const { file, plan } = item;
  const v = item.view.root;
  Object.assign(v.dataset, { mode: "multipart", key: plan.key, partCount: String(plan.part_count) });
  setState(item, "uploading", `Uploading in ${plan.part_count} parts…`);
  item.base = null;
  item.joining = false; // once every part is stored, completing cannot be paused or cancelled
  const answer = await sendMultipart(settings.apiBase, plan, file, {
    signal: item.ctrl.signal, token: readToken(window, settings.tokenKey), concurrency: settings.partConcurrency,
    onProgress(bytes, { stored, resumed }) {
      if (item.base === null) { item.base = bytes; item.started = performance.now(); }
      Object.assign(v.dataset, { partsStored: String(stored), resumedParts: String(resumed) });
      onProgress(item, bytes, file.size);
      if (stored === plan.part_count && !item.joining) {
        item.joining = true;
        setState(item, "uploading", "All parts sent; storage is joining them…");
      }
    },
  });
  item.plan = null;
  item.joining = false;
  forget(file);
  showBytes(item, 1);
  const extra = Object.fromEntries(Object.entries(answer || {}).filter(([k]) => !["key", "etag", "size"].includes(k)));
  const info = { key: (answer && answer.key) || plan.key, size: file.size,
    answer: Object.keys(extra).length ? extra : null, unconfirmed: null };
  finish(item, "done", "Stored.");
  showResult(item, info, plan);
}

/** Show a per-second countdown of `failure.retryAfter`; resolve when it ends, reject on cancel. */
function countdown(item, failure, signal) {
  item.waits += 1;
  item.view.root.dataset.waits = String(item.waits);
  announce(`${item.file.name}: ${waitMessage(failure, failure.retryAfter)}`);
  return new Promise((resolve, reject) => {
    let left = failure.retryAfter;
    const stop = () => { clearInterval(timer); delete item.view.root.dataset.wait; };
    const tick = () => {
      if (left <= 0) { stop(); resolve(); return; }
      item.view.root.dataset.wait = String(left);
      setState(item, "waiting", waitMessage(failure, left), failure.code);
      left -= 1;
    };
    const timer = setInterval(tick, 1000);
    signal.addEventListener("abort", () => { stop(); reject(new DOMException("cancelled", "AbortError")); },
      { once: true });
    tick();
  });
}

function showResult(item, { key, size, answer, unconfirmed }, grant) {
  const v = item.view;
  v.root.dataset.key = key;
  const row = (term, value) => [el("dt", { textContent: term }), el("dd", { textContent: String(value) })];
  const rows = [...row("Stored as", key), ...row("Size", `${formatBytes(size)} (${size} bytes)`)];
  let said = "";
  if (unconfirmed !== null) {
    said = "unconfirmed";
    if (grant.grant_id) rows.push(...row("Grant id", grant.grant_id));
    if (unconfirmed) rows.push(...row("Storage said", unconfirmed));
  } else if (answer !== null) {
    const obj = typeof answer === "object" && !Array.isArray(answer);
    said = obj && answer.ok !== false ? "confirmed" : "answered";
    // Untrusted text: only ever textContent, a few fields, JSON for anything nested.
    const body = obj ? el("dl", {}, ...Object.entries(answer).filter(([k]) => k !== "ok").slice(0, 12)
      .flatMap(([k, x]) => row(k.replace(/_/g, " "), typeof x === "object" ? JSON.stringify(x) : x)))
      : el("pre", { textContent: typeof answer === "string" ? answer : JSON.stringify(answer) });
    rows.push(el("dt", { textContent: said === "confirmed" ? "Confirmed by the application" : "The application answered" }),
      el("dd", {}, body));
  }
  v.root.dataset.callback = said;
  v.result.replaceChildren(el("dl", {}, ...rows));
}

function refreshButtons() {
  startButton.disabled = !items.some((i) => i.state === "ready");
  clearButton.disabled = !items.some((i) => ["done", "rejected", "cancelled", "error"].includes(i.state));
}

startButton.addEventListener("click", () => {
  const ready = items.filter((i) => i.state === "ready");
  ready.forEach(enqueue);
  announce(`Uploading ${ready.length} file(s), ${settings.concurrency} at a time.`);
});

clearButton.addEventListener("click", () => {
  for (const item of items.filter((i) => ["done", "rejected", "cancelled", "error"].includes(i.state))) {
    item.view.root.remove();
    items.splice(items.indexOf(item), 1);
  }
  refreshButtons();
  picker.focus();
});

picker.addEventListener("change", () => { addFiles(picker.files); picker.value = ""; });
const drop = $("drop");
document.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
document.addEventListener("dragleave", (e) => { if (!e.relatedTarget) drop.classList.remove("over"); });
document.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (!picker.disabled && e.dataTransfer?.files.length) addFiles(e.dataTransfer.files);
});

function describeLimits() {
  const parts = [];
  if (settings.maxBytes) parts.push(`up to ${formatBytes(settings.maxBytes)} each`);
  if (settings.allowedTypes) parts.push(`types: ${settings.allowedTypes.join(", ")}`);
  $("limits").textContent = parts.length ? `Files ${parts.join("; ")}.` : "Several files at once are fine.";
}

if (!settings.apiBase) {
  $("limits").textContent = "This page is not configured: config.js sets no apiBase and no ?api= was given.";
  picker.disabled = true;
} else {
  fetchLimits(settings).then((s) => {
    settings = s;
    describeLimits();
    document.body.dataset.ready = "true";
  });
}

// Owns: the page — picking and dropping files, one compact row per file, the batch summary, buttons and
// announcements. Uploading lives in grant/transfer/multipart/resume.js. Test hooks: data-* (web/README.md).
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
let settings = readSettings(window);
const queue = createQueue(settings.concurrency, upload);
// Function error codes meaning an upload id is of no use any more (openapi.yaml).
const GONE = new Set(["no_such_upload", "upload_expired", "invalid_upload_id", "already_completed"]);
const LABEL = { ready: "Ready", queued: "Waiting", signing: "Preparing", waiting: "Busy, will retry",
  uploading: "Uploading", paused: "Paused", done: "Uploaded",
  error: "Failed", cancelled: "Cancelled", rejected: "Not allowed" };
const ACTIVE = ["queued", "signing", "waiting", "uploading", "paused"];
const ENDED = ["done", "rejected", "cancelled", "error"];
const token = () => readToken(window, settings.tokenKey);
const files = (n) => `${n} file${n === 1 ? "" : "s"}`;

function announce(text) { $("status").textContent = text; }

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

const button = (text, ariaLabel, onclick, className = "") =>
  el("button", { type: "button", className, textContent: text, ariaLabel, onclick });

function addFiles(picked) {
  const added = [...picked].map((file) => {
    const item = { file, state: "ready", events: 0, loaded: 0, renewals: 0, waits: 0, ctrl: null };
    item.view = renderItem(item);
    item.data = item.view.root.dataset;
    items.push(item);
    const reason = precheck(file, settings);
    setState(item, reason ? "rejected" : "ready", reason || "");
    if (!reason) offerResume(item);
    return item;
  });
  const refused = added.filter((i) => i.state === "rejected").length;
  announce(`${files(added.length)} added${refused ? `, ${refused} not allowed` : ""}.` +
    (added.length > refused ? " Press Upload to start." : ""));
}

/** A thumbnail made in the browser for images (the file itself, never uploaded twice), else the extension. */
function thumbnail(file) {
  if (/^image\//.test(file.type) && file.size < 5e7) {
    const img = el("img", { className: "thumb", alt: "", src: URL.createObjectURL(file) });
    img.onload = () => URL.revokeObjectURL(img.src);
    img.onerror = () => { img.onload(); img.replaceWith(thumbnail({ name: file.name })); };
    return img;
  }
  const ext = /\.(\w{1,4})$/.exec(file.name);
  return el("span", { className: "thumb", ariaHidden: "true", textContent: ext ? ext[1].toUpperCase() : "FILE" });
}

function renderItem(item) {
  const name = item.file.name;
  const v = {
    state: el("span", { className: "file-state" }),
    bar: el("progress", { max: item.file.size || 1, value: 0, ariaLabel: `Progress of ${name}` }),
    meta: el("span", { className: "file-meta" }),
    msg: el("p", { className: "file-msg" }),
    details: el("details", { hidden: true }),
    pause: button("Pause", `Pause ${name}`, () => pause(item), "secondary"),
    resume: button("Resume", `Resume ${name}`, () => enqueue(item)),
    cancel: button("Cancel", `Cancel ${name}`, () => cancel(item), "secondary"),
    retry: button("Retry", `Retry ${name}`, () => enqueue(item)),
  };
  v.root = el("li", { className: "file" }, thumbnail(item.file), el("div", { className: "file-main" },
    el("div", { className: "file-head" }, el("span", { className: "file-name", title: name, textContent: name }), v.state),
    v.bar, v.meta, v.msg, el("div", { className: "file-buttons" }, v.pause, v.resume, v.cancel, v.retry), v.details));
  v.root.dataset.name = name;
  list.append(v.root);
  return v;
}

function setState(item, state, message, code = "") {
  item.state = state;
  const v = item.view;
  Object.assign(v.root.dataset, { state, errorCode: code });
  v.state.textContent = LABEL[state];
  v.msg.textContent = message;
  const buttons = [v.pause, v.resume, v.cancel, v.retry];
  const focused = document.activeElement;
  v.cancel.hidden = !ACTIVE.includes(state) || item.joining;
  v.retry.hidden = !(state === "error" || state === "cancelled");
  v.pause.hidden = !(state === "uploading" && item.plan) || item.joining;
  v.resume.hidden = state !== "paused";
  // Keep keyboard users on this entry when their button disappears.
  if (buttons.includes(focused) && focused.hidden) (buttons.find((b) => !b.hidden) || picker).focus();
  if (!["uploading", "paused", "done"].includes(state)) showBytes(item, 0);
  refresh();
}

function showBytes(item, fraction) {
  const v = item.view;
  const size = item.file.size;
  const sent = Math.round(size * fraction);
  v.bar.value = sent;
  if (!sent && item.state !== "uploading") { v.meta.textContent = formatBytes(size); return; }
  // Speed and time left count only this run's bytes (not parts stored before a pause or reload).
  const secs = item.started ? (performance.now() - item.started) / 1000 : 0;
  const rate = secs > 0.2 ? (sent - (item.base || 0)) / secs : 0;
  const left = rate > 0 && sent < size ? ` · ${duration((size - sent) / rate)} left` : "";
  const speed = rate > 0 && item.state === "uploading" ? ` · ${formatBytes(Math.round(rate))}/s${left}` : "";
  v.meta.textContent = sent >= size ? formatBytes(size) : `${formatBytes(sent)} of ${formatBytes(size)}${speed}`;
}

function duration(secs) {
  const s = Math.ceil(secs);
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.ceil(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

function onProgress(item, loaded, total) {
  item.events += 1;
  item.loaded = loaded;
  Object.assign(item.data, { progressEvents: item.events, loaded });
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
  abortUpload(settings.apiBase, plan, token()).then(
    () => { item.data.aborted = "true"; },
    (e) => { item.data.aborted = e.code || "failed"; });
}

const resuming = (stored, count) => `Resuming — ${stored} of ${count} parts already stored`;

/** A file picked again after a reload: show how much of its earlier upload storage already holds. */
async function offerResume(item) {
  const plan = recall(item.file);
  if (!plan) return;
  item.plan = plan;
  try {
    const have = await storedParts(settings.apiBase, plan, { token: token() });
    if (item.plan !== plan || item.state !== "ready") return;
    item.data.resumable = have.size;
    setState(item, "ready", `${resuming(have.size, plan.part_count)}. Press Upload to send the rest.`);
  } catch (e) {
    if (!GONE.has(e.code) || item.plan !== plan) return;
    item.plan = null; // expired or unknown: start afresh
    forget(item.file);
  }
}

function finish(item, state, message, code = "") {
  setState(item, state, message, code);
  const name = item.file.name;
  const batch = items.some((i) => ACTIVE.includes(i.state)) ? "" : ` ${summary()}.`;
  announce((state === "done" ? `${name} uploaded. ${message}` : `${name}: ${message}`) + batch);
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
          if (!item.data.resumable || restarted) throw e;
          restarted = true;
        }
      }
      setState(item, "signing", "Asking for permission to upload…");
      let grant;
      try {
        grant = await requestGrant(settings.apiBase,
          { filename: file.name, size: file.size, contentType: contentType(file) }, ctrl.signal, token());
      } catch (e) {
        // 429/503 with a short Retry-After: wait it out visibly, then ask once more.
        if (!(e instanceof UploadFailure && e.retryAfter) || waited) throw e;
        waited = true;
        await countdown(item, e, ctrl.signal);
        continue;
      }
      item.data.key = grant.key || "";
      if (grant.mode === "multipart") {
        item.plan = grant;
        remember(file, grant);
        continue;
      }
      item.base = 0;
      item.started = performance.now();
      setState(item, "uploading", renewed ? "Permission renewed; uploading…" : "");
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
        item.data.renewals = item.renewals;
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
  Object.assign(item.data, { mode: "multipart", key: plan.key, partCount: plan.part_count });
  setState(item, "uploading", `Sending ${plan.part_count} parts…`);
  item.base = null;
  item.joining = false; // once every part is stored, completing cannot be paused or cancelled
  const answer = await sendMultipart(settings.apiBase, plan, file, {
    signal: item.ctrl.signal, token: token(), concurrency: settings.partConcurrency,
    onProgress(bytes, { stored, resumed }) {
      if (item.base === null) {
        item.base = bytes;
        item.started = performance.now();
        if (resumed) item.view.msg.textContent = `${resuming(resumed, plan.part_count)}…`;
      }
      Object.assign(item.data, { partsStored: stored, resumedParts: resumed });
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
  const { key, etag, size, ...extra } = answer || {};
  finish(item, "done", "Stored.");
  showResult(item, { key: key || plan.key, etag, size: file.size,
    answer: Object.keys(extra).length ? extra : null, unconfirmed: null }, plan);
}

/** Show a per-second countdown of `failure.retryAfter`; resolve when it ends, reject on cancel. */
function countdown(item, failure, signal) {
  item.waits += 1;
  item.data.waits = item.waits;
  announce(`${item.file.name}: ${waitMessage(failure, failure.retryAfter)}`);
  return new Promise((resolve, reject) => {
    let left = failure.retryAfter;
    const stop = () => { clearInterval(timer); delete item.data.wait; };
    const tick = () => {
      if (left <= 0) { stop(); resolve(); return; }
      item.data.wait = left;
      setState(item, "waiting", waitMessage(failure, left), failure.code);
      left -= 1;
    };
    const timer = setInterval(tick, 1000);
    signal.addEventListener("abort", () => { stop(); reject(new DOMException("cancelled", "AbortError")); },
      { once: true });
    tick();
  });
}

/** Fill the row's closed "Details": key (with a copy button), size, ETag, grant id, the application's answer. */
function showResult(item, { key, etag, size, answer, unconfirmed }, grant) {
  const v = item.view;
  item.data.key = key;
  const row = (term, value) => [el("dt", { textContent: term }), el("dd", { textContent: value })];
  const rows = [...row("Object key", key), ...row("Size", `${formatBytes(size)}${size < 1000 ? "" : ` (${size} bytes)`}`)];
  if (etag) rows.push(...row("ETag", etag));
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
  item.data.callback = said;
  const copy = button("Copy key", `Copy the key of ${item.file.name}`, () => navigator.clipboard.writeText(key)
    .then(() => { copy.textContent = "Copied"; }, () => getSelection().selectAllChildren(rows[1])));
  v.details.replaceChildren(el("summary", { textContent: "Details" }), el("dl", {}, ...rows), copy);
  v.details.hidden = false;
}

/** "5 of 6 uploaded · 1 failed", over every row in the list. */
function summary() {
  const count = (s) => items.filter((i) => i.state === s).length;
  const parts = [`${count("done")} of ${items.length} uploaded`];
  for (const [s, word] of [["error", "failed"], ["cancelled", "cancelled"], ["rejected", "not allowed"]]) {
    if (count(s)) parts.push(`${count(s)} ${word}`);
  }
  const busy = items.filter((i) => ACTIVE.includes(i.state)).length;
  if (busy) parts.push(`${busy} in progress`);
  return parts.join(" · ");
}

function refresh() {
  startButton.disabled = !items.some((i) => i.state === "ready");
  clearButton.disabled = !items.some((i) => ENDED.includes(i.state));
  const started = items.some((i) => i.state !== "ready" && i.state !== "rejected");
  $("summary").hidden = !started;
  $("summary-text").textContent = started ? summary() : "";
  $("retry-failed").hidden = !items.some((i) => i.state === "error");
}

startButton.addEventListener("click", () => {
  const ready = items.filter((i) => i.state === "ready");
  ready.forEach(enqueue);
  announce(`Uploading ${files(ready.length)}, ${settings.concurrency} at a time.`);
});

$("retry-failed").addEventListener("click", () => {
  const failed = items.filter((i) => i.state === "error");
  failed.forEach(enqueue);
  announce(`Retrying ${files(failed.length)}.`);
});

clearButton.addEventListener("click", () => {
  for (const item of items.filter((i) => ENDED.includes(i.state))) {
    item.view.root.remove();
    items.splice(items.indexOf(item), 1);
  }
  refresh();
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

if (!settings.apiBase) {
  $("limits").textContent = "This page is not configured: config.js sets no apiBase.";
  picker.disabled = true;
} else {
  fetchLimits(settings).then((s) => {
    settings = s;
    const parts = [];
    if (s.maxBytes) parts.push(`up to ${formatBytes(s.maxBytes)} each`);
    if (s.allowedTypes) parts.push(`types: ${s.allowedTypes.join(", ")}`);
    $("limits").textContent = parts.length ? `Files ${parts.join("; ")}.` : "Several files at once are fine.";
    document.body.dataset.ready = "true";
  });
}

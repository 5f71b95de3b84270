// Owns: localStorage's record of unfinished multipart uploads, by file size + lastModified + name, so a
// file picked again after a reload resumes. Nothing secret (an upload id authorizes only its upload
// until expires_at). No DOM, no network.
export const RESUME_KEY = "oss-upload-resume";
const KEPT = ["upload_id", "expires_at", "key", "part_size", "part_count", "max_size", "grant_id"];
const fileId = (f) => `${f.size}:${f.lastModified}:${f.name}`;

/** Run `change(all)` on the stored map (expired entries dropped) and save it; return what it returns. */
function edit(change) {
  try {
    const store = window.localStorage;
    let all = JSON.parse(store.getItem(RESUME_KEY) || "{}");
    all = Object.fromEntries(Object.entries(all).filter(([, p]) => Date.parse(p && p.expires_at) > Date.now()));
    const out = change(all);
    if (Object.keys(all).length) store.setItem(RESUME_KEY, JSON.stringify(all));
    else store.removeItem(RESUME_KEY);
    return out;
  } catch { return null; } // storage blocked, full or garbled: resuming after a reload is a convenience
}

/** The saved plan of `file` ({mode: "multipart", upload_id, …}) or null. */
export const recall = (file) => edit((all) => {
  const plan = all[fileId(file)];
  return plan && typeof plan.upload_id === "string" ? { ...plan, mode: "multipart" } : null;
});

/** Remember `file`'s multipart plan until it completes, is cancelled or expires. */
export const remember = (file, plan) => edit((all) => {
  all[fileId(file)] = Object.fromEntries(KEPT.filter((k) => k in plan).map((k) => [k, plan[k]]));
});

/** Forget `file`'s plan (completed, cancelled, or refused by the function). */
export const forget = (file) => edit((all) => { delete all[fileId(file)]; });

// Owns: running at most `limit` jobs at once, in the order they were queued.
// Knows nothing about uploads, HTTP or the DOM.

/** Create a queue; `run(job)` returns a promise, and a job can be queued again after it settles. */
export function createQueue(limit, run) {
  const waiting = [];
  let active = 0;
  const pump = () => {
    while (active < limit && waiting.length) {
      const job = waiting.shift();
      active += 1;
      Promise.resolve()
        .then(() => run(job))
        .catch(() => {}) // run() records its own failures on the job
        .finally(() => { active -= 1; pump(); });
    }
  };
  return {
    add(job) { waiting.push(job); pump(); },
    /** Remove a job that has not started yet; true when it was still waiting. */
    drop(job) {
      const i = waiting.indexOf(job);
      if (i >= 0) waiting.splice(i, 1);
      return i >= 0;
    },
  };
}

// A lane queue in the manner of OpenClaw's command queue: named lanes, each with a cap
// (`maxConcurrent`, 1 unless set), granting slots first come, first served. A message's run takes
// `session:<key>` (the session lock, cap 1) and then `main` (the global cap). Plain ESM, no
// dependencies, nothing lanesim-specific: the example gateway (gateway-core.mjs) runs on it.
// Times come from the global Date.now/setTimeout, so a fake clock drives it in tests.

/** A wait this long or longer is recorded when the slot is granted (what `laneWaits()` lists). */
export const WAIT_RECORD_MS = 2000;

export class LaneQueue {
  /** Tasks still queued can be aborted through `options.signal`. */
  abortQueued = true;
  #lanes = new Map();
  #draining = false;
  #waits = [];

  #lane(name) {
    const key = name.trim() === '' ? 'main' : name;
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = { name: key, max: 1, active: 0, generation: 0, queue: [] };
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  /** Runs `task` in `lane` when a slot is free; settles with its result or error. */
  enqueue(laneName, task, options = {}) {
    if (this.#draining) return Promise.reject(new Error('lane queue is draining: no new tasks'));
    const lane = this.#lane(laneName);
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new Error('aborted before it was queued'));
    return new Promise((resolve, reject) => {
      const entry = { task, resolve, reject, enqueuedAt: Date.now(), queueAhead: lane.queue.length, signal, onAbort: null };
      if (signal !== undefined) {
        entry.onAbort = () => {
          const i = lane.queue.indexOf(entry);
          if (i >= 0) {
            lane.queue.splice(i, 1);
            reject(new Error('aborted while queued'));
          }
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      lane.queue.push(entry);
      this.#pump(lane);
    });
  }

  #pump(lane) {
    while (lane.active < lane.max && lane.queue.length > 0) {
      const entry = lane.queue.shift();
      if (entry.onAbort !== null) entry.signal.removeEventListener('abort', entry.onAbort);
      const waitedMs = Date.now() - entry.enqueuedAt;
      if (waitedMs >= WAIT_RECORD_MS) this.#waits.push({ lane: lane.name, waitedMs, queueAhead: entry.queueAhead });
      lane.active++;
      const generation = lane.generation;
      const release = () => {
        // A reset lane forgot this holder: its end frees nothing twice.
        if (lane.generation !== generation) return;
        lane.active--;
        this.#pump(lane);
      };
      let result;
      try {
        result = Promise.resolve(entry.task());
      } catch (error) {
        result = Promise.reject(error);
      }
      result.then(
        (value) => {
          release();
          entry.resolve(value);
        },
        (error) => {
          release();
          entry.reject(error);
        },
      );
    }
  }

  setConcurrency(laneName, maxConcurrent) {
    const lane = this.#lane(laneName);
    // The session lock stays a lock whatever a caller asks.
    lane.max = lane.name.startsWith('session:') ? 1 : Math.max(1, Math.floor(maxConcurrent));
    this.#pump(lane);
  }

  /** Rejects every queued (not running) task of the lane; returns how many. */
  clear(laneName) {
    const lane = this.#lane(laneName);
    const dropped = lane.queue.splice(0);
    for (const entry of dropped) {
      if (entry.onAbort !== null) entry.signal.removeEventListener('abort', entry.onAbort);
      entry.reject(new Error(`lane ${lane.name} cleared`));
    }
    return dropped.length;
  }

  /** From now on new tasks are refused; queued and running ones go on. */
  drain() {
    this.#draining = true;
  }

  /** Forgets the lane's running tasks: their slots are free at once. */
  resetLane(laneName) {
    const lane = this.#lane(laneName);
    lane.generation++;
    lane.active = 0;
    this.#pump(lane);
  }

  laneWaits() {
    return this.#waits.map((w) => ({ ...w }));
  }
}

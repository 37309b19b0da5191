// Write a sealed capability as a plain JavaScript function (ES module).
//
// A transform (node kind CT):
//
//   import { Outcome, InvalidInput } from './sealed.js';
//   export function run(input) {
//     if (!Number.isInteger(input.n)) throw new InvalidInput('`n` must be an integer');
//     return Outcome.success({ double: 2 * input.n });
//   }
//
// A side effect (node kind CS) also receives the host's storage as a second argument, so the same function
// runs against `MemoryStorage` (below) under plain `node --test`:
//
//   export function run(input, storage) { storage.registryInsertJson('actors', input.id, input.actor); ... }
//
// This module owns the guest side of the `sealed:capability` WIT contract for JavaScript, minus the storage
// imports (those live in the entry `host build` generates for a side effect, so a transform's component
// imports nothing). It must never offer an ambient I/O path (clock, randomness, files, network); inside a
// component those are disabled at build time (see sdk/README.md, "Determinism of Python and JavaScript").

/** A node's result: the outcome name the workflow routes on, and the output (any JSON value). */
export class Outcome {
  constructor(name, output = {}) {
    this.name = String(name);
    this.output = output;
  }
  /** `SUCCESS` with `output`. */
  static success(output) {
    return new Outcome('SUCCESS', output);
  }
  /** `VIOLATION` with `{reason}`: a business rejection the workflow can route. */
  static violation(reason) {
    return new Outcome('VIOLATION', { reason: String(reason) });
  }
}

/** Base of the two run errors (WIT `run-error`); both fail the run. */
export class SealedError extends Error {
  get kind() {
    return 'internal';
  }
}
/** The input is not what this capability accepts (wrong shape, missing field). */
export class InvalidInput extends SealedError {
  get kind() {
    return 'invalid-input';
  }
}
/** The capability failed for a reason of its own. */
export class Internal extends SealedError {}

/** A storage refusal; `kind` is the WIT `storage-error` case, `detail` the host's text. */
export class StorageError extends Error {
  constructor(kind, detail) {
    super(`${kind}: ${detail}`);
    this.kind = kind;
    this.detail = String(detail);
  }
}

export const InsertOutcome = Object.freeze({ INSERTED: 'inserted', ALREADY_EXISTS: 'already-exists' });

const encoder = new TextEncoder();

/** The most events the host returns from one events.read; a reader pages on with fromSeq. */
export const MAX_READ_EVENTS = 64;
/** The most keys the host returns from one state.listKeys; a lister pages on with the last key. */
export const MAX_LIST_KEYS = 64;

/**
 * The storage a side effect may use. Subclasses implement the nine calls; values are Uint8Array.
 * Contract 0.1.1 added `registryRemove(label, key)` (true if the key was bound; it is free again after)
 * and `stateListKeys(label, startAfter, maxCount)` (keys after `startAfter`, ascending, at most 64 per call).
 */
export class Storage {
  /** Inserts a JSON value, serialised compactly with sorted keys (the Rust SDK's bytes). */
  registryInsertJson(label, key, value) {
    return this.registryInsert(label, key, encoder.encode(canonicalJson(value)));
  }
}

function canonicalJson(value) {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
      : v,
  );
}

/** Orders strings by code point, as the host orders keys (UTF-8 byte order); `<` compares UTF-16 units. */
function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function same(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * An in-memory Storage with the host's semantics (write-once registry with conflict detection, gap-free
 * event sequences from 1, versioned compare-and-swap state, removal that frees a key, key listing in
 * code-point order, at most 64 keys or events per call), for plain-node unit tests. Not the host:
 * grants, limits and atomic commit live there, and `host test` runs the built component.
 */
export class MemoryStorage extends Storage {
  constructor() {
    super();
    this.registry = new Map();
    this.events = new Map();
    this.state = new Map();
    /** Every registry binding removed, oldest first: [label, key, bytes]. */
    this.removed = [];
    this.denied = new Set();
  }
  /** Every call on `label` is refused with `not-granted` from now on. */
  denyLabel(label) {
    this.denied.add(label);
    return this;
  }
  #k(label, key) {
    if (this.denied.has(label)) throw new StorageError('not-granted', `label ${JSON.stringify(label)}`);
    if (!key) throw new StorageError('invalid-argument', 'empty key');
    return JSON.stringify([label, key]);
  }
  registryInsert(label, key, value) {
    const k = this.#k(label, key);
    const existing = this.registry.get(k);
    if (existing === undefined) {
      this.registry.set(k, Uint8Array.from(value));
      return InsertOutcome.INSERTED;
    }
    if (same(existing, value)) return InsertOutcome.ALREADY_EXISTS;
    throw new StorageError('conflict', `key ${JSON.stringify(key)} is bound to different bytes`);
  }
  registryGet(label, key) {
    return this.registry.get(this.#k(label, key)) ?? null;
  }
  registryExists(label, key) {
    return this.registry.has(this.#k(label, key));
  }
  registryRemove(label, key) {
    const k = this.#k(label, key);
    const bound = this.registry.get(k);
    if (bound === undefined) return false;
    this.registry.delete(k);
    this.removed.push([label, key, bound]);
    return true;
  }
  eventsAppend(label, key, payload) {
    const k = this.#k(label, key);
    const stream = this.events.get(k) ?? [];
    stream.push(Uint8Array.from(payload));
    this.events.set(k, stream);
    return BigInt(stream.length);
  }
  eventsRead(label, key, fromSeq, maxCount) {
    const stream = this.events.get(this.#k(label, key)) ?? [];
    const from = Math.max(Number(fromSeq), 1);
    return stream
      .map((payload, i) => ({ seq: BigInt(i + 1), payload }))
      .filter((e) => e.seq >= from)
      // As the host: at most MAX_READ_EVENTS per call, whatever maxCount asks.
      .slice(0, Math.min(maxCount, MAX_READ_EVENTS));
  }
  stateLoad(label, key) {
    return this.state.get(this.#k(label, key)) ?? null;
  }
  stateStoreIfVersion(label, key, expectedVersion, value) {
    const k = this.#k(label, key);
    const current = this.state.get(k)?.version ?? 0n;
    if (current !== BigInt(expectedVersion)) {
      throw new StorageError('conflict', `expected version ${expectedVersion}, current version is ${current}`);
    }
    this.state.set(k, { version: current + 1n, value: Uint8Array.from(value) });
    return current + 1n;
  }
  stateListKeys(label, startAfter, maxCount) {
    if (this.denied.has(label)) throw new StorageError('not-granted', `label ${JSON.stringify(label)}`);
    return [...this.state.keys()]
      .map((k) => JSON.parse(k))
      .filter(([l, key]) => l === label && (startAfter == null || byCodePoint(key, startAfter) > 0))
      .map(([, key]) => key)
      .sort(byCodePoint)
      .slice(0, Math.min(maxCount, MAX_LIST_KEYS));
  }
}

/**
 * The exported `node` interface around `run` (used by the entry `host build` generates; not a stable API).
 * Every way out maps to the WIT contract: an Outcome to `node-result`, InvalidInput to `invalid-input`,
 * anything else thrown (Internal, an unhandled StorageError, a TypeError) to `internal` with its message,
 * so a bug is a typed error, never a trap.
 */
export function nodeExport(run, storage) {
  return {
    run(input) {
      let value;
      try {
        value = JSON.parse(input);
      } catch (e) {
        throw { tag: 'invalid-input', val: `input is not JSON: ${e.message}` };
      }
      let result;
      let output;
      try {
        result = storage ? run(value, storage) : run(value);
        if (!(result instanceof Outcome)) {
          throw new Internal(`run must return an Outcome, not ${typeof result}`);
        }
        output = JSON.stringify(result.output);
        if (output === undefined) throw new Internal('the output is not JSON (undefined or a function)');
      } catch (e) {
        if (e instanceof SealedError) throw { tag: e.kind, val: e.message };
        if (e instanceof StorageError) throw { tag: 'internal', val: `storage: ${e.message}` };
        throw { tag: 'internal', val: `${e?.name ?? 'Error'}: ${e?.message ?? String(e)}` };
      }
      return { outcome: result.name, output };
    },
  };
}

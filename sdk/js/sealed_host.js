// The host's storage, reached through the side-effect world's imports (used by the entry `host build`
// generates for a side effect; a transform never loads this module, so its component imports nothing).
//
// Owns mapping the generated bindings to the `Storage` calls of sealed.js: values are Uint8Array,
// sequence numbers and versions BigInt, an absent value `null`, and a refusal a `StorageError` whose
// `kind` is the WIT `storage-error` case. It must never reach anything but the three storage interfaces.

import * as registry from 'sealed:capability/registry@0.1.1';
import * as events from 'sealed:capability/events@0.1.1';
import * as state from 'sealed:capability/state@0.1.1';
import { Storage, StorageError } from './sealed.js';

function call(f, ...args) {
  try {
    return f(...args);
  } catch (e) {
    // componentize-js throws the `err` case of a result as an Error carrying the variant in `payload`.
    const p = e?.payload ?? e;
    if (p && typeof p.tag === 'string') throw new StorageError(p.tag, p.val ?? '');
    throw e;
  }
}

export class Host extends Storage {
  registryInsert(label, key, value) {
    return call(registry.insert, label, key, Uint8Array.from(value));
  }
  registryGet(label, key) {
    return call(registry.get, label, key) ?? null;
  }
  registryExists(label, key) {
    return call(registry.exists, label, key);
  }
  /** Unbinds `key` (contract 0.1.1): true if it was bound; the key may be bound again later. */
  registryRemove(label, key) {
    return call(registry.remove, label, key);
  }
  eventsAppend(label, key, payload) {
    return call(events.append, label, key, Uint8Array.from(payload));
  }
  eventsRead(label, key, fromSeq, maxCount) {
    return call(events.read, label, key, BigInt(fromSeq), maxCount).map((e) => ({ seq: e.seq, payload: e.payload }));
  }
  stateLoad(label, key) {
    return call(state.load, label, key) ?? null;
  }
  stateStoreIfVersion(label, key, expectedVersion, value) {
    return call(state.storeIfVersion, label, key, BigInt(expectedVersion), Uint8Array.from(value));
  }
  /** State keys after `startAfter` (null: from the first), ascending, at most 64 per call (0.1.1). */
  stateListKeys(label, startAfter, maxCount) {
    return call(state.listKeys, label, startAfter ?? undefined, maxCount);
  }
}

// A sealed side effect: it may use the host's storage, under the labels its node is granted.
//
// Input {"key": string} → inserts {} under `key` in the registry label `items`: SUCCESS {"key": key} the
// first time, ALREADY_EXISTS {"key": key} after that (the registry is idempotent: a second insert never
// overwrites). The node needs the grant {"interface": "registry", "label": "items", "ops": ["insert"]}.

import { InsertOutcome, InvalidInput, Outcome } from './sealed.js';

export function run(input, storage) {
  const key = input?.key;
  if (typeof key !== 'string') throw new InvalidInput('`key` must be a string');
  const done = storage.registryInsert('items', key, new TextEncoder().encode('{}'));
  return done === InsertOutcome.INSERTED ? Outcome.success({ key }) : new Outcome('ALREADY_EXISTS', { key });
}

// A sealed transform: a JSON projection.
//
// Input {"record": object, "fields": [string]} → SUCCESS {"projected": {...}} holding exactly the listed
// fields of the record (a field may be a dotted path, "address.city", and lands under the same dotted
// name); VIOLATION {"reason"} when a listed field is not in the record; invalid-input for any other shape.

import { InvalidInput, Outcome } from './sealed.js';

export function run(input) {
  const { record, fields } = input ?? {};
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new InvalidInput('`record` must be an object');
  }
  if (!Array.isArray(fields) || !fields.every((f) => typeof f === 'string' && f.length > 0)) {
    throw new InvalidInput('`fields` must be an array of non-empty strings');
  }
  const projected = {};
  const missing = [];
  for (const field of fields) {
    let v = record;
    for (const part of field.split('.')) {
      v = v !== null && typeof v === 'object' && Object.hasOwn(v, part) ? v[part] : undefined;
    }
    if (v === undefined) missing.push(field);
    else projected[field] = v;
  }
  if (missing.length > 0) return Outcome.violation(`not in the record: ${missing.join(', ')}`);
  return Outcome.success({ projected });
}

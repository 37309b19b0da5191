// Plain-node tests of the function: `node --test`. `host test` runs the built component.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInput } from '../sealed.js';
import { run } from '../app.js';

test('projects the listed fields, dotted paths included', () => {
  const out = run({ record: { id: 7, name: 'Ada', address: { city: 'Paris' } }, fields: ['id', 'address.city'] });
  assert.equal(out.name, 'SUCCESS');
  assert.deepEqual(out.output, { projected: { id: 7, 'address.city': 'Paris' } });
});

test('a missing field is a VIOLATION', () => {
  assert.equal(run({ record: { id: 7 }, fields: ['id', 'email'] }).name, 'VIOLATION');
});

test('a record that is not an object is invalid input', () => {
  assert.throws(() => run({ record: [1], fields: ['id'] }), InvalidInput);
});

// Plain-node tests of the function against the in-memory store: `node --test`. `host test` runs the
// built component.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage, StorageError } from '../sealed.js';
import { run } from '../app.js';

test('the second insert already exists', () => {
  const s = new MemoryStorage();
  assert.equal(run({ key: 'k' }, s).name, 'SUCCESS');
  assert.equal(run({ key: 'k' }, s).name, 'ALREADY_EXISTS');
});

test('an ungranted label is refused', () => {
  assert.throws(() => run({ key: 'k' }, new MemoryStorage().denyLabel('items')), StorageError);
});

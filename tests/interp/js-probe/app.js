// A capability that tries to escape: each probe reaches for something a sealed component must not have
// (`tests/e2e/authors_interp.rs` runs every probe and checks that it is contained).
import { InvalidInput, Outcome } from './sealed.js';

function probe(name) {
  switch (name) {
    case 'wall-clock':
      return Date.now();
    case 'date':
      return new Date().toISOString();
    case 'monotonic-clock':
      return performance.now();
    case 'random':
      return [Math.random(), Math.random(), Math.random()];
    case 'crypto-random':
      return Array.from(crypto.getRandomValues(new Uint8Array(8)));
    case 'fetch':
      return String(fetch('http://127.0.0.1:9/'));
    case 'console':
      console.log('hello from the sandbox');
      return 'printed';
    case 'eval':
      return eval('6 * 7');
    default:
      throw new InvalidInput(`unknown probe ${JSON.stringify(name)}`);
  }
}

export function run(input) {
  const name = input?.probe;
  return Outcome.success({ probe: name, value: probe(name) });
}

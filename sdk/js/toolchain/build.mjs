// The JavaScript build step of `host build`: componentize-js with every WASI-backed feature disabled, so
// the component imports nothing but its world. `host build` runs it as
// `node --input-type=module -e <this file> ENTRY.js WIT_DIR WORLD OUT.wasm` in the toolchain directory
// (so the import below resolves to the pinned install, which stays untouched).
import { componentize, version } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';

const [sourcePath, witPath, worldName, out] = process.argv.slice(-4);
if (process.argv.length < 5) {
  console.error('usage: node --input-type=module -e <build.mjs> ENTRY.js WIT_DIR WORLD OUT.wasm');
  process.exit(2);
}
const { component } = await componentize({
  sourcePath,
  witPath,
  worldName,
  // stdio: console.*; random: Math.random / crypto; clocks: Date.now / performance.now; http + fetch-event:
  // fetch(). With all five off the engine links no WASI interface at all.
  disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
});
await writeFile(out, component);
console.error(`componentize-js ${version}: ${component.length} bytes`);

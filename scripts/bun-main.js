// The Bun single executable's main (build.ts --runtime=bun): the counterpart of
// sea-main.cjs. Bun compiles every program's bundle to bytecode into the one
// file; a program's module runs only when it is required, so a call pays for
// its own program. Picks the program by the name the binary was invoked as and
// offers the others (and the addon's bytes) under Symbol.for('cni-ts.programs'),
// as sea-main.cjs does, for pkg/exec/inproc.ts and pkg/native.
import { basename } from 'node:path';
import addonPath from '../build/cninative.node' with { type: 'file' };
import { programs } from '../build/programs/bun-programs.js';

/** The exports ({ main, embedded }) of program `name`, or undefined. */
const load = (name) => (Object.hasOwn(programs, name) ? programs[name]() : undefined);
// node:fs only when the addon's cache file is missing: loading it costs ~2 ms a call (pkg/native/fs.ts)
const asset = (name) => (name === 'cninative.node' ? process.getBuiltinModule('node:fs').readFileSync(addonPath) : undefined);
Object.defineProperty(globalThis, Symbol.for('cni-ts.programs'), { value: Object.freeze({ load, asset }) });

const name = basename(process.argv0);
const program = load(name);
if (!program) {
  process.stderr.write(`cni-ts: unknown program "${name}"; link or copy this binary as one of: ${Object.keys(programs).join(', ')}\n`);
  process.exit(name === 'cni-ts' ? 0 : 1);
}
program.main();

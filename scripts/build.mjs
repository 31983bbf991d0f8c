// Compiles src/ and migrations/ to JavaScript in dist/ (issue 16: start without tsx's loader).
// `npm start` runs it before the server (in the start script itself: npm skips a `prestart` under
// ignore-scripts=true), so an edit in src/ is never served stale.
//
// One output file per source file (no bundle): dist/src/… and dist/migrations/… mirror the
// checkout, so relative imports, `*.worker.ts` entries beside their callers and the migrations
// loaded by path keep their layout. Same transform as tsx's (esbuild, tsconfig.json, keepNames).
//
// Fresh means: every input (.ts under src/ and migrations/, tsconfig.json, this script) has the
// path, size and mtime recorded by the last build, esbuild has the same version, every output
// recorded then is still in dist/ and nothing else is. Then nothing is compiled or written (~0.2 s,
// mostly Node starting; a full build is ~1 s). Otherwise everything is compiled again, only changed
// files are written (each renamed into place, so a running server never reads half a file) and
// files whose source is gone are removed: a renamed migration must not run twice.
//
//   node scripts/build.mjs          # what `npm start` runs first; prints nothing unless it fails
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SCRIPT), '..');
const OUT_DIR = path.join(ROOT, 'dist');
const STAMP = path.join(OUT_DIR, '.build-inputs.json');
const SOURCE_DIRS = ['src', 'migrations'];

/** Files under dir (absolute paths), recursively; empty when dir does not exist. */
function filesUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}

/** Every .ts file with code (declaration files carry none). */
const entryPoints = SOURCE_DIRS.flatMap((dir) => filesUnder(path.join(ROOT, dir)))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .sort();

// npm gives installed files a fixed mtime, so esbuild is recorded by its version.
const esbuildVersion = createRequire(import.meta.url)('esbuild/package.json').version;
const inputs = [
  ['esbuild', esbuildVersion],
  ...[...entryPoints, path.join(ROOT, 'tsconfig.json'), SCRIPT].map((f) => {
    const st = fs.statSync(f);
    return [path.relative(ROOT, f), st.size, st.mtimeMs];
  }),
];

function fresh() {
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(STAMP, 'utf8'));
  } catch {
    return false;
  }
  if (JSON.stringify(stamp.inputs) !== JSON.stringify(inputs)) return false;
  const present = filesUnder(OUT_DIR).filter((f) => f !== STAMP && !f.endsWith('.tmp'));
  const recorded = new Set(stamp.outputs);
  return present.length === recorded.size && present.every((f) => recorded.has(path.relative(ROOT, f)));
}

/** Writes file unless it already holds contents; renamed into place. */
function writeIfChanged(file, contents) {
  try {
    if (fs.readFileSync(file).equals(contents)) return;
  } catch {
    // Not there yet.
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, contents);
  fs.renameSync(tmp, file);
}

if (!fresh()) {
  const { build } = await import('esbuild');
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints,
    outdir: OUT_DIR,
    outbase: ROOT,
    bundle: false,
    platform: 'node',
    format: 'esm',
    // The oldest Node that package.json's engines allows.
    target: 'node20.19',
    // As tsx: class and function names survive (errors and logs print them).
    keepNames: true,
    // Stack traces name dist/ lines; NODE_OPTIONS=--enable-source-maps maps them back to src/.
    sourcemap: 'linked',
    sourcesContent: false,
    tsconfig: path.join(ROOT, 'tsconfig.json'),
    write: false,
    logLevel: 'error',
  });
  const outputs = result.outputFiles.map((f) => f.path);
  for (const file of result.outputFiles) writeIfChanged(file.path, Buffer.from(file.contents));
  const wanted = new Set([...outputs, STAMP]);
  for (const file of filesUnder(OUT_DIR)) {
    if (wanted.has(file)) continue;
    // Another `npm start` building at the same moment may be about to rename its .tmp file; one
    // left over by a build that died is removed once it is a minute old.
    if (file.endsWith('.tmp') && Date.now() - fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs < 60_000) continue;
    fs.rmSync(file, { force: true });
  }
  const stamp = { inputs, outputs: outputs.map((f) => path.relative(ROOT, f)) };
  writeIfChanged(STAMP, Buffer.from(`${JSON.stringify(stamp)}\n`));
}

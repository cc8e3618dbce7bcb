#!/usr/bin/env node
// Builds the web client into web/dist (never committed):
//   1. protoc + protoc-gen-es generate src/gen/tutti_pb.ts from protos/tutti.proto;
//   2. esbuild bundles src/main.ts and src/style.css under content-hashed names
//      (dist/assets/app-<hash>.js, ...), so the server may cache them for long;
//   3. dist/index.html is src/index.html pointing at those names.
// `--tests` also bundles test/*.test.ts into build-test/ for `node --test`.
// Usage: node build.mjs [--tests] [--out DIR]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const withTests = args.includes('--tests');
const outIdx = args.indexOf('--out');
const OUT = outIdx >= 0 ? resolve(args[outIdx + 1]) : join(HERE, 'dist');
const PROTOS = resolve(HERE, '../protos');

// 1. Message classes from the wire contract.
const gen = join(HERE, 'src/gen');
rmSync(gen, { recursive: true, force: true });
mkdirSync(gen, { recursive: true });
execFileSync('protoc', [
  `--plugin=protoc-gen-es=${join(HERE, 'node_modules/.bin/protoc-gen-es')}`,
  `--es_out=${gen}`, '--es_opt=target=ts', `-I${PROTOS}`, join(PROTOS, 'tutti.proto'),
], { stdio: 'inherit' });

// 2. The bundle.
rmSync(OUT, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: { app: join(HERE, 'src/main.ts'), style: join(HERE, 'src/style.css') },
  bundle: true,
  format: 'esm',
  target: ['chrome100', 'firefox102', 'safari15'],
  minify: !process.env.NOMINIFY,  // NOMINIFY=1: readable names in a profile
  sourcemap: 'linked',
  outdir: join(OUT, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
  // libsodium-wrappers' loader mentions Node modules it never uses in a browser.
  external: ['fs', 'path', 'crypto'],
  legalComments: 'linked',
});
const outputs = Object.entries(result.metafile.outputs);
const find = (entry, ext) => {
  const hit = outputs.find(([file, o]) => file.endsWith(ext) && o.entryPoint && o.entryPoint.endsWith(entry));
  if (!hit) throw new Error(`build: no output for ${entry}`);
  return '/' + relative(OUT, resolve(hit[0])).split('\\').join('/');
};
const js = find('src/main.ts', '.js');
const css = find('src/style.css', '.css');

// 3. The page.
const html = readFileSync(join(HERE, 'src/index.html'), 'utf8')
  .replace('{{JS}}', js).replace('{{CSS}}', css);
writeFileSync(join(OUT, 'index.html'), html);
writeFileSync(join(OUT, 'favicon.svg'), readFileSync(join(HERE, 'src/favicon.svg')));
console.log(`web: built ${relative(process.cwd(), OUT) || '.'} (${basename(js)}, ${basename(css)})`);

if (withTests) {
  const testOut = join(HERE, 'build-test');
  rmSync(testOut, { recursive: true, force: true });
  const tests = readdirSync(join(HERE, 'test')).filter((f) => f.endsWith('.test.ts'));
  await esbuild.build({
    entryPoints: tests.map((f) => join(HERE, 'test', f)),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    packages: 'external',
    outdir: testOut,
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
  });
  console.log(`web: built ${tests.length} test files into build-test/`);
}

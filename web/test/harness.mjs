// Shared by the web client's browser tests: starts tutti-server (the built binary, through
// the repository's shared Node harness, tests/testing/node_harness.mjs) on 127.0.0.1 with
// a free port and temporary key/data dirs, launches Debian's Chromium through
// playwright-core with a fresh profile, and stops everything it started, by PID. When the
// server does not serve the page itself (a build without --web-root), a small static server
// here serves web/dist and /api/server-info instead, and the page is pointed at the server's
// WebSocket with ?ws=. web/ is not packaged on its own (its build already reaches into
// ../tools), so its tests may import from the repository's tests/ as well.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CheckFailed, ServerProcess, check, runTest } from '../../tests/testing/node_harness.mjs';

export { CheckFailed, check };
export const HERE = dirname(fileURLToPath(import.meta.url));
export const WEB = resolve(HERE, '..');

export function parseArgs(extra = {}) {
  const a = { server: null, token: null, chromium: '/usr/bin/chromium', dist: join(WEB, 'dist'),
              artifacts: null, verbose: false, ...extra };
  for (let i = 2; i < process.argv.length; i++) {
    const k = process.argv[i];
    if (k === '--server') a.server = process.argv[++i];
    else if (k === '--token') a.token = process.argv[++i];
    else if (k === '--chromium') a.chromium = process.argv[++i];
    else if (k === '--dist') a.dist = resolve(process.argv[++i]);
    else if (k === '--artifacts') a.artifacts = resolve(process.argv[++i]);
    else if (k === '--verbose') a.verbose = true;
    else throw new CheckFailed(`unknown argument ${k}`);
  }
  for (const [what, p] of [['--server', a.server], ['--chromium', a.chromium],
                           ['web/dist (run web/build.sh)', join(a.dist, 'index.html')]]) {
    if (!p || !existsSync(p)) throw new CheckFailed(`${what} not found: ${p}`);
  }
  return a;
}

// Waits until `fn()` is truthy (polled), or fails naming `what`. Deadlines are generous
// and only bound a hang: nothing here asserts how long anything took.
export async function until(fn, what, ms = 15000, everyMs = 50) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new CheckFailed(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export class Env {
  constructor(args) {
    this.args = args;
    this.tmp = mkdtempSync(join(tmpdir(), 'tutti-web-'));
    this.keys = join(this.tmp, 'keys');
    this.data = join(this.tmp, 'data');
    this.server = null;  // a ServerProcess
    this.port = 0;
    this.http = null;
    this.browser = null;
    this.pageBase = '';
    process.on('exit', () => {
      this.server?.kill();
      rmSync(this.tmp, { recursive: true, force: true });
    });
  }

  log(...m) { if (this.args.verbose) console.log('web:', ...m); }

  // Starts the server; `port` 0 = a free one (the restart reuses the first one).
  async startServer(port = 0, extra = []) {
    const argv = ['--dev', '--drain-grace-s=0', '--port', String(port), '--shards', '2', '--keys', this.keys, '--data', this.data, ...extra];
    if (this.webRootFlag) argv.push('--web-root', this.args.dist);
    this.server = new ServerProcess(this.args.server, argv);
    this.port = (await this.server.start()).port;
    return this.port;
  }

  async stopServer() { await this.server?.stop(); }

  // Does the server take --web-root (the static serving build)? Read from its --help.
  async detectWebRoot() {
    const out = await new Promise((r) => {
      const p = spawn(this.args.server, ['--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let s = '';
      p.stdout.on('data', (c) => { s += c; });
      p.stderr.on('data', (c) => { s += c; });
      p.on('exit', () => r(s));
    });
    this.webRootFlag = out.includes('--web-root');
    return this.webRootFlag;
  }

  sealKeyB64() {
    const line = readFileSync(join(this.keys, 'server_seal.pub'), 'utf8').trim();
    return line.slice(line.indexOf(' ') + 1);
  }

  // The page's base URL: the server itself, or the stand-in static server.
  async startPageServer() {
    if (this.webRootFlag) {
      this.pageBase = `http://127.0.0.1:${this.port}`;
      return this.pageBase;
    }
    const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript',
                    '.css': 'text/css', '.map': 'application/json' };
    this.http = http.createServer((req, res) => {
      const path = new URL(req.url, 'http://127.0.0.1').pathname;
      if (path === '/api/server-info') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          version: 'test', guests_allowed: true, seal_public_key: this.sealKeyB64(),
          ws_path: '/api/websocket/' }));
        return;
      }
      const rel = path === '/' ? 'index.html' : path.slice(1);
      if (rel.includes('..')) { res.writeHead(400).end(); return; }
      const f = join(this.args.dist, rel);
      if (!existsSync(f)) { res.writeHead(404).end(); return; }
      // The policy tutti-server sends, so a page that breaks it fails here too.
      res.writeHead(200, { 'content-type': types[extname(f)] ?? 'application/octet-stream',
        'content-security-policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; " +
          `style-src 'self'; img-src 'self' data:; connect-src 'self' ws://127.0.0.1:${this.port}; ` +
          "object-src 'none'; base-uri 'none'; form-action 'self'" })
        .end(readFileSync(f));
    });
    const hp = await new Promise((r) => this.http.listen(0, '127.0.0.1', () => r(this.http.address().port)));
    this.pageBase = `http://127.0.0.1:${hp}`;
    return this.pageBase;
  }

  // The page URL with an optional fragment.
  pageUrl(fragment = '') {
    const q = this.webRootFlag ? '' : `?ws=${encodeURIComponent(`ws://127.0.0.1:${this.port}`)}`;
    return `${this.pageBase}/${q}${fragment}`;
  }

  async launch() {
    const { chromium } = await import('playwright-core');
    this.browser = await chromium.launchPersistentContext(join(this.tmp, 'profile'), {
      executablePath: this.args.chromium,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
             '--autoplay-policy=no-user-gesture-required'],
      viewport: { width: 1200, height: 860 },
    });
    return this.browser;
  }

  async cleanup() {
    if (this.browser) await this.browser.close().catch(() => {});
    if (this.http) this.http.close();
    await this.stopServer();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

// Runs `body(env)` with a whole-test deadline; exits 0 or 1 with the failed check.
export async function main(name, body, overallMs = 150000) {
  await runTest(name, overallMs, () => new Env(parseArgs()), body);
}

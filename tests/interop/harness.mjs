// Shared by the tests in this folder, each run as its own Node process (so the state
// here is that one test's).
// - All three (interop_test.mjs, browser_test.mjs, compress_test.mjs): the check helpers
//   and ServerProcess (tests/testing/node_harness.mjs, shared with web/test and bench/,
//   re-exported here), which starts tutti-server on 127.0.0.1 with a free port, keeps its
//   last output lines for a failure report and stops it by PID.
// - Peer, one `ws` connection speaking the protocol: the Chromium tests' Node side, and
//   bench/compress_join.mjs's clients.
// - The two that drive Chromium (browser_test.mjs, compress_test.mjs): their arguments
//   and npm packages, Env (a temporary key/data dir, the server, the page Chromium loads
//   and the HTTP server for it, Node peers, tokens minted by tutti-token, cleanup),
//   pageWait, and main, which runs a test under a whole-test deadline and exits 0 (PASS)
//   or 1 naming the failed check, after stopping everything it started.
// Nothing is imported from node_modules until main has checked the packages are there.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CheckFailed, ServerProcess, check, eq, runTest } from '../testing/node_harness.mjs';

export { CheckFailed, ServerProcess, check, eq };

export const HERE = dirname(fileURLToPath(import.meta.url));
export const STEP_TIMEOUT_MS = 10000;     // one reply or event (a cold browser is slow to start)
export const OVERALL_TIMEOUT_MS = 100000; // the whole test (ctest allows 120 s)

// --- the Chromium tests: arguments and packages ------------------------------------------

const DEPS = ['ws', 'protobufjs', 'playwright-core'];

function failEarly(name, msg, code = 1) {
  console.error(`${name}: FAIL: ${msg}`);
  process.exit(code);
}

//   --server PATH/TO/tutti-server --token PATH/TO/tutti-token [--chromium PATH] [--verbose]
function parseArgs(name) {
  const args = {
    server: null, token: null, chromium: '/usr/bin/chromium', verbose: false,
    proto: resolve(HERE, '../../protos/tutti.proto'),
  };
  for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];
    if (a === '--server') args.server = process.argv[++i];
    else if (a === '--token') args.token = process.argv[++i];
    else if (a === '--chromium') args.chromium = process.argv[++i];
    else if (a === '--verbose') args.verbose = true;
    else failEarly(name, `unknown argument ${a}`, 2);
  }
  for (const [what, path] of [['--server', args.server], ['--token', args.token],
                              ['--chromium', args.chromium], ['proto', args.proto]]) {
    if (!path || !existsSync(path)) {
      failEarly(name, `${what} not found: ${path} ` +
                      '(tools/setup.sh installs chromium and the npm packages)');
    }
  }
  const missing = DEPS.filter((d) => !existsSync(join(HERE, 'node_modules', d, 'package.json')));
  if (missing.length > 0) {
    failEarly(name, `npm packages missing in tests/interop/node_modules (${missing.join(', ')}); ` +
                    'run tools/setup.sh');
  }
  return args;
}

// --- the page ------------------------------------------------------------------------------

// The page and what it loads, from this process only (never data: URLs: Chromium's
// local-network checks refuse ws://127.0.0.1 from those). It connects to ?ws=, keeps
// every decoded ClientMessage in tutti.received, and sends with tutti.send(object).
const PAGE = `<!doctype html>
<meta charset="utf-8"><title>Tutti browser client</title>
<script src="/protobuf.min.js"></script>
<script>
window.tutti = { received: [], errors: [], closed: null, ready: false, extensions: null };
(async () => {
  // keepCase: the field names of tutti.proto, as PROTOCOL.md spells them.
  const root = await new protobuf.Root().load('/tutti.proto', { keepCase: true });
  const SM = root.lookupType('tutti.proto.ServerMessage');
  const CM = root.lookupType('tutti.proto.ClientMessage');
  const ws = new WebSocket(new URLSearchParams(location.search).get('ws'));
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => { tutti.extensions = ws.extensions; };
  ws.onmessage = (ev) => {
    if (!(ev.data instanceof ArrayBuffer)) { tutti.errors.push('a text frame'); return; }
    try {
      tutti.received.push(CM.toObject(CM.decode(new Uint8Array(ev.data)),
          { longs: String, enums: String, bytes: Array, defaults: true, oneofs: true }));
    } catch (e) { tutti.errors.push('undecodable frame: ' + e.message); }
  };
  ws.onclose = (ev) => { tutti.closed = { code: ev.code, reason: ev.reason }; };
  tutti.send = (obj) => {
    const m = obj.midi_message;
    if (m && Array.isArray(m.midi_data)) m.midi_data = new Uint8Array(m.midi_data);
    ws.send(SM.encode(SM.fromObject(obj)).finish());
  };
  tutti.close = () => ws.close(1000, 'page done');
  tutti.ready = true;
})().catch((e) => tutti.errors.push('setup: ' + e.message));
</script>`;

// Waits until the page has received a message of case `c` matching `pred` (a function
// body over `m`, the case's object, evaluated in the page) and returns it.
export async function pageWait(page, c, what, pred = 'true') {
  const fn = `(() => { const m = (window.tutti.received.find((x) => x.message === ${JSON.stringify(c)}
      && ((m) => ${pred})(x[${JSON.stringify(c)}])) || {})[${JSON.stringify(c)}];
      return m || (window.tutti.errors.length ? { pageErrors: window.tutti.errors } : null); })()`;
  try {
    const h = await page.waitForFunction(fn, null, { timeout: STEP_TIMEOUT_MS });
    const m = await h.jsonValue();
    if (m.pageErrors) throw new CheckFailed(`page errors: ${m.pageErrors.join('; ')}`);
    return m;
  } catch (e) {
    if (e instanceof CheckFailed) throw e;
    const got = await page.evaluate(() => window.tutti.received.map((m) => m.message));
    throw new CheckFailed(`page: timed out waiting for ${what} (received: ${got.join(', ')})`);
  }
}

// --- the Node peer -------------------------------------------------------------------------

const TO_OBJECT = { longs: String, enums: String, bytes: Array, defaults: true, oneofs: true };

// One `ws` connection speaking the protocol. `codec`: { WebSocket (ws's), ServerMessage,
// ClientMessage (protobufjs types) }; `wsOptions` go to ws's WebSocket. With `raw`, messages
// stay protobufjs instances (no toObject) and a match drops what was queued before it: what a
// bench that reads thousands of notices it does not look at wants (less client CPU, no
// growing queue).
export class Peer {
  constructor(codec, url, wsOptions = {}, { raw = false } = {}) {
    this.codec = codec;
    this.raw = raw;
    this.queue = [];
    this.waiters = [];
    this.ws = new codec.WebSocket(url, wsOptions);
    this.answer = null;  // the server's Sec-WebSocket-Extensions ('' when none)
    this.ws.on('upgrade', (res) => {
      this.answer = res.headers['sec-websocket-extensions'] ?? '';
    });
    this.ws.on('message', (data) => {
      const CM = codec.ClientMessage;
      this.queue.push(raw ? CM.decode(data) : CM.toObject(CM.decode(data), TO_OBJECT));
      for (const w of [...this.waiters]) w();
    });
  }
  send(obj) {
    const SM = this.codec.ServerMessage;
    this.ws.send(SM.encode(SM.fromObject(obj)).finish());
  }
  // Bytes this connection has read from its socket so far (frames as they crossed it).
  bytesRead() { return this.ws._socket ? this.ws._socket.bytesRead : 0; }
  // The first queued message of oneof case `c` for which `pred` holds (earlier ones of
  // other cases stay queued unless `raw`).
  waitCase(c, what, pred = () => true) {
    return new Promise((res, rej) => {
      const look = () => {
        const i = this.queue.findIndex((m) => m.message === c && pred(m[c]));
        if (i < 0) return false;
        this.waiters = this.waiters.filter((w) => w !== look);
        clearTimeout(timer);
        res(this.queue.splice(i, 1)[0][c]);
        if (this.raw) this.queue.length = 0;
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== look);
        rej(new CheckFailed(`peer: timed out waiting for ${what}`));
      }, STEP_TIMEOUT_MS);
      if (!look()) this.waiters.push(look);
    });
  }
}

// --- what one Chromium test starts (and stops) -------------------------------------------

export class Env {
  // `lib`: the imported { WebSocket, protobuf, chromium }.
  constructor(name, args, lib) {
    this.name = name;
    this.args = args;
    this.lib = lib;
    this.tmp = mkdtempSync(join(tmpdir(), `tutti-${name}-`));
    this.keysDir = join(this.tmp, 'keys');
    this.server = null;
    this.httpServer = null;
    this.browser = null;
    this.sockets = [];
    this.ServerMessage = null;
    this.ClientMessage = null;
    this.cleaned = null;
    process.on('exit', () => {
      this.server?.kill();
      rmSync(this.tmp, { recursive: true, force: true });
    });
  }

  log(...m) { if (this.args.verbose) console.log(`${this.name}:`, ...m); }

  async loadProto() {
    const root = await new this.lib.protobuf.Root().load(this.args.proto, { keepCase: true });
    this.ServerMessage = root.lookupType('tutti.proto.ServerMessage');
    this.ClientMessage = root.lookupType('tutti.proto.ClientMessage');
  }

  // Starts the server (two shards, dev mode, keys and data in the temporary dir, then
  // `extra` arguments) and returns its port.
  async startServer(extra = []) {
    this.server = new ServerProcess(this.args.server, [
      '--dev', '--drain-grace-s=0', '--port', '0', '--shards', '2', '--keys', this.keysDir,
      '--data', join(this.tmp, 'data'), ...extra]);
    return (await this.server.start()).port;
  }

  // Serves the page, tutti.proto and protobufjs on 127.0.0.1; returns the port.
  startHttp() {
    const files = {
      '/client.html': ['text/html; charset=utf-8', Buffer.from(PAGE)],
      '/tutti.proto': ['text/plain; charset=utf-8', readFileSync(this.args.proto)],
      '/protobuf.min.js': ['text/javascript',
        readFileSync(join(HERE, 'node_modules/protobufjs/dist/protobuf.min.js'))],
    };
    this.httpServer = http.createServer((req, res) => {
      const path = new URL(req.url, 'http://127.0.0.1').pathname;
      if (path === '/favicon.ico') { res.writeHead(204).end(); return; }
      const f = files[path];
      if (!f) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
    });
    return new Promise((r) => this.httpServer.listen(0, '127.0.0.1',
                                                     () => r(this.httpServer.address().port)));
  }

  // A member's connect URL for the server on `port`, from tutti-token.
  mint(name, port) {
    return execFileSync(this.args.token, ['--keys', this.keysDir, '--user-id', `u-${name}`,
                                          '--name', name, '--member', '--port', String(port)],
                        { encoding: 'utf8' }).trim();
  }

  // A Node peer connected to `url`; `wsOptions` go to ws's WebSocket. Closed by cleanup.
  peer(url, wsOptions = {}) {
    const p = new Peer({ WebSocket: this.lib.WebSocket, ServerMessage: this.ServerMessage,
                         ClientMessage: this.ClientMessage }, url, wsOptions);
    this.sockets.push(p.ws);
    return p;
  }

  // Launches Chromium (once) and opens a page at `url`, its console logged with --verbose.
  async openPage(url) {
    this.browser ??= await this.lib.chromium.launch({
      executablePath: this.args.chromium,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const page = await this.browser.newPage();
    page.on('console', (m) => this.log(`page console: ${m.text()}`));
    page.on('pageerror', (e) => this.log(`page error: ${e.message}`));
    await page.goto(url);
    return page;
  }

  // Closes the sockets, the browser and the HTTP server, stops the server and removes
  // the temporary dir; every caller gets the same promise.
  cleanup() {
    this.cleaned ??= (async () => {
      for (const s of this.sockets) { try { s.terminate(); } catch { } }
      if (this.browser) await this.browser.close().catch(() => {});
      if (this.httpServer) this.httpServer.close();
      await this.server?.stop();
      rmSync(this.tmp, { recursive: true, force: true });
    })();
    return this.cleaned;
  }
}

// Runs `body(env)` for the test `name` under OVERALL_TIMEOUT_MS and exits: 0 after
// "<name>: PASS", 1 after "<name>: FAIL: <the failed check>" and the server's last lines.
export async function main(name, body) {
  const args = parseArgs(name);
  const [{ default: WebSocket }, { default: protobuf }, { chromium }] = await Promise.all([
    import('ws'), import('protobufjs'), import('playwright-core')]);
  const lib = { WebSocket, protobuf, chromium };
  await runTest(name, OVERALL_TIMEOUT_MS, () => new Env(name, args, lib), async (env) => {
    await env.loadProto();
    await body(env);
  });
}

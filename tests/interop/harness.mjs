// Shared by the tests in this folder, each run as its own Node process (so the state
// here is that one test's).
// - All three (interop_test.mjs, browser_test.mjs, compress_test.mjs): the check helpers
//   and ServerProcess, which starts tutti-server on 127.0.0.1 with a free port, keeps its
//   last output lines for a failure report and stops it by PID.
// - The two that drive Chromium (browser_test.mjs, compress_test.mjs): their arguments
//   and npm packages, Env (a temporary key/data dir, the server, the page Chromium loads
//   and the HTTP server for it, Node peers, tokens minted by tutti-token, cleanup),
//   pageWait, and main, which runs a test under a whole-test deadline and exits 0 (PASS)
//   or 1 naming the failed check, after stopping everything it started.
// Nothing is imported from node_modules until main has checked the packages are there.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const STEP_TIMEOUT_MS = 10000;     // one reply or event (a cold browser is slow to start)
export const OVERALL_TIMEOUT_MS = 100000; // the whole test (ctest allows 120 s)
const STARTUP_TIMEOUT_MS = 30000;         // the server prints its listening line
const KEPT_OUTPUT_LINES = 60;             // of the server's stdout/stderr, for a failure

// --- checks ------------------------------------------------------------------------------

export class CheckFailed extends Error {}
export function check(cond, what) {
  if (!cond) throw new CheckFailed(what);
}
export function eq(actual, expected, what) {
  if (actual !== expected) {
    throw new CheckFailed(`${what}: expected ${JSON.stringify(expected)}, ` +
                          `got ${JSON.stringify(actual)}`);
  }
}

// --- the server process --------------------------------------------------------------------

function readLines(stream, onLine) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    for (let nl; (nl = buf.indexOf('\n')) >= 0; buf = buf.slice(nl + 1)) onLine(buf.slice(0, nl));
  });
}

// One tutti-server: `binary` run with `argv` (which should ask for --port 0) by start(),
// stopped by stop() (SIGTERM, SIGKILL after 5 s) or kill() (SIGKILL, synchronous, for a
// process 'exit' handler). Both are no-ops once it has exited.
export class ServerProcess {
  constructor(binary, argv) {
    this.binary = binary;
    this.argv = argv;
    this.child = null;
    this.exited = false;
    this.output = [];  // its last lines, "[out] ..." / "[err] ..."
  }

  get pid() { return this.child?.pid; }
  get running() { return this.child !== null && !this.exited && this.child.pid !== undefined; }

  // Resolves { port, shards } from its listening line; rejects with CheckFailed if it
  // does not print one in time or exits first.
  start() {
    return new Promise((resolveListening, reject) => {
      const child = spawn(this.binary, this.argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      let found = false;
      const timer = setTimeout(() => {
        reject(new CheckFailed(`server did not print its listening line within ` +
                               `${STARTUP_TIMEOUT_MS} ms`));
      }, STARTUP_TIMEOUT_MS);
      readLines(child.stdout, (line) => {
        this.#remember('out', line);
        const m = /^tutti: listening on ws:\/\/127\.0\.0\.1:(\d+) with (\d+) shards/.exec(line);
        if (m && !found) {
          found = true;
          clearTimeout(timer);
          resolveListening({ port: Number(m[1]), shards: Number(m[2]) });
        }
      });
      readLines(child.stderr, (line) => this.#remember('err', line));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new CheckFailed(`spawn: ${e.message}`));
      });
      child.on('exit', (code, signal) => {
        this.exited = true;
        if (!found) {
          clearTimeout(timer);
          reject(new CheckFailed(`server exited before listening (code ${code}, ` +
                                 `signal ${signal})`));
        }
      });
    });
  }

  async stop() {
    if (!this.running) return;
    const child = this.child;
    const exited = new Promise((r) => child.once('exit', r));
    try { process.kill(child.pid, 'SIGTERM'); } catch { return; }
    const timer = setTimeout(() => {
      if (!this.exited) { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }
    }, 5000);
    await exited;
    clearTimeout(timer);
  }

  kill() {
    if (this.running) { try { process.kill(this.child.pid, 'SIGKILL'); } catch { /* gone */ } }
  }

  #remember(stream, line) {
    this.output.push(`[${stream}] ${line}`);
    if (this.output.length > KEPT_OUTPUT_LINES) this.output.shift();
  }
}

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

// One `ws` connection speaking the protocol; made by Env.peer.
class Peer {
  constructor(env, url, wsOptions) {
    this.env = env;
    this.queue = [];
    this.waiters = [];
    this.ws = new env.lib.WebSocket(url, wsOptions);
    this.answer = null;  // the server's Sec-WebSocket-Extensions ('' when none)
    this.ws.on('upgrade', (res) => {
      this.answer = res.headers['sec-websocket-extensions'] ?? '';
    });
    env.sockets.push(this.ws);
    this.ws.on('message', (data) => {
      this.queue.push(env.ClientMessage.toObject(env.ClientMessage.decode(data), TO_OBJECT));
      for (const w of [...this.waiters]) w();
    });
  }
  send(obj) {
    const SM = this.env.ServerMessage;
    this.ws.send(SM.encode(SM.fromObject(obj)).finish());
  }
  // Bytes this connection has read from its socket so far (frames as they crossed it).
  bytesRead() { return this.ws._socket.bytesRead; }
  // The first queued message of oneof case `c` for which `pred` holds (earlier ones of
  // other cases stay queued).
  waitCase(c, what, pred = () => true) {
    return new Promise((res, rej) => {
      const look = () => {
        const i = this.queue.findIndex((m) => m.message === c && pred(m[c]));
        if (i < 0) return false;
        this.waiters = this.waiters.filter((w) => w !== look);
        clearTimeout(timer);
        res(this.queue.splice(i, 1)[0][c]);
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

  // A Node peer connected to `url`; `wsOptions` go to ws's WebSocket.
  peer(url, wsOptions = {}) { return new Peer(this, url, wsOptions); }

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
  const env = new Env(name, args, { WebSocket, protobuf, chromium });
  const overall = setTimeout(() => {
    console.error(`${name}: FAIL: the whole test took over ${OVERALL_TIMEOUT_MS} ms`);
    env.cleanup().finally(() => process.exit(1));
  }, OVERALL_TIMEOUT_MS);
  try {
    await env.loadProto();
    await body(env);
    clearTimeout(overall);
    await env.cleanup();
    console.log(`${name}: PASS`);
    process.exit(0);
  } catch (e) {
    clearTimeout(overall);
    console.error(`${name}: FAIL: ${e instanceof CheckFailed ? e.message : e.stack}`);
    const output = (env.server?.output ?? []).slice(-30);
    console.error(`server output (last lines):\n${output.join('\n')}`);
    await env.cleanup();
    process.exit(1);
  }
}

#!/usr/bin/env node
// Browser test: the web client's side of the protocol in a real browser. A page served
// from 127.0.0.1 runs in Debian's Chromium (driven by playwright-core), loads
// protos/tutti.proto with protobufjs, opens the WebSocket at the connect URL a site's
// backend would hand it (minted here by tutti-token, as PianoRhythm's site seals the
// payload for its page), and plays in a room with a second client (Node, `ws`). It
// proves what the Node interop test cannot: a browser's upgrade request (its Origin,
// its extension offers) is accepted, binary frames arrive as ArrayBuffers the page can
// decode, and what the page encodes is what the server relays.
//
//   node browser_test.mjs --server PATH/TO/tutti-server --token PATH/TO/tutti-token
//                         [--chromium /usr/bin/chromium] [--verbose]
//
// Exits 0 on success or 1 naming the failed check. The server, the HTTP server and the
// browser it started are always stopped, the temporary directory removed.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const STEP_TIMEOUT_MS = 10000;     // one reply or event (a cold browser is slow to start)
const OVERALL_TIMEOUT_MS = 100000; // the whole test (ctest allows 120 s)

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
  else fail(`unknown argument ${a}`, 2);
}
for (const [what, path] of [['--server', args.server], ['--token', args.token],
                            ['--chromium', args.chromium], ['proto', args.proto]]) {
  if (!path || !existsSync(path)) {
    fail(`${what} not found: ${path} (tools/setup.sh installs chromium and the npm packages)`);
  }
}
const DEPS = ['ws', 'protobufjs', 'playwright-core'];
const missing = DEPS.filter((d) => !existsSync(join(HERE, 'node_modules', d, 'package.json')));
if (missing.length > 0) {
  fail(`npm packages missing in tests/interop/node_modules (${missing.join(', ')}); ` +
       'run tools/setup.sh');
}
const { default: WebSocket } = await import('ws');
const { default: protobuf } = await import('protobufjs');
const { chromium } = await import('playwright-core');

function fail(msg, code = 1) {
  console.error(`browser: FAIL: ${msg}`);
  process.exit(code);
}
const log = (...m) => { if (args.verbose) console.log('browser:', ...m); };
class CheckFailed extends Error {}
function check(cond, what) { if (!cond) throw new CheckFailed(what); }
function eq(actual, expected, what) {
  if (actual !== expected) {
    throw new CheckFailed(`${what}: expected ${JSON.stringify(expected)}, ` +
                          `got ${JSON.stringify(actual)}`);
  }
}

// --- processes and servers this test starts (and stops) ----------------------------

const tmp = mkdtempSync(join(tmpdir(), 'tutti-browser-'));
const keysDir = join(tmp, 'keys');
let server = null;
let serverExited = false;
const serverOutput = [];
let httpServer = null;
let browser = null;
const sockets = [];

function startServer() {
  return new Promise((resolvePort, reject) => {
    server = spawn(args.server, ['--dev', '--drain-grace-s=0', '--port', '0', '--shards', '2', '--keys', keysDir,
                                 '--data', join(tmp, 'data')],
                   { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => reject(new CheckFailed('server did not start in 30 s')), 30000);
    let buf = '';
    server.stdout.setEncoding('utf8');
    server.stdout.on('data', (chunk) => {
      buf += chunk;
      for (let nl; (nl = buf.indexOf('\n')) >= 0; buf = buf.slice(nl + 1)) {
        const line = buf.slice(0, nl);
        serverOutput.push(line);
        const m = /^tutti: listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(line);
        if (m) { clearTimeout(timer); resolvePort(Number(m[1])); }
      }
    });
    server.stderr.setEncoding('utf8');
    server.stderr.on('data', (chunk) => serverOutput.push(chunk.trimEnd()));
    server.on('exit', (code, signal) => {
      serverExited = true;
      clearTimeout(timer);
      reject(new CheckFailed(`server exited (code ${code}, signal ${signal})`));
    });
  });
}

async function stopServer() {
  if (!server || serverExited) return;
  const exited = new Promise((r) => server.once('exit', r));
  try { process.kill(server.pid, 'SIGTERM'); } catch { return; }
  const timer = setTimeout(() => { try { process.kill(server.pid, 'SIGKILL'); } catch { } }, 5000);
  await exited;
  clearTimeout(timer);
}

// The page and what it loads, from this process only (never data: URLs: Chromium's
// local-network checks refuse ws://127.0.0.1 from those).
const PAGE = `<!doctype html>
<meta charset="utf-8"><title>Tutti browser client</title>
<script src="/protobuf.min.js"></script>
<script>
window.tutti = { received: [], errors: [], closed: null, ready: false };
(async () => {
  // keepCase: the field names of tutti.proto, as PROTOCOL.md spells them.
  const root = await new protobuf.Root().load('/tutti.proto', { keepCase: true });
  const SM = root.lookupType('tutti.proto.ServerMessage');
  const CM = root.lookupType('tutti.proto.ClientMessage');
  const ws = new WebSocket(new URLSearchParams(location.search).get('ws'));
  ws.binaryType = 'arraybuffer';
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

function startHttp() {
  const files = {
    '/client.html': ['text/html; charset=utf-8', Buffer.from(PAGE)],
    '/tutti.proto': ['text/plain; charset=utf-8', readFileSync(args.proto)],
    '/protobuf.min.js': ['text/javascript',
      readFileSync(join(HERE, 'node_modules/protobufjs/dist/protobuf.min.js'))],
  };
  httpServer = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    if (path === '/favicon.ico') { res.writeHead(204).end(); return; }
    const f = files[path];
    if (!f) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
  });
  return new Promise((r) => httpServer.listen(0, '127.0.0.1', () => r(httpServer.address().port)));
}

let cleaned = null;
function cleanup() {
  cleaned ??= (async () => {
    for (const s of sockets) { try { s.terminate(); } catch { } }
    if (browser) await browser.close().catch(() => {});
    if (httpServer) httpServer.close();
    await stopServer();
    rmSync(tmp, { recursive: true, force: true });
  })();
  return cleaned;
}
process.on('exit', () => {
  if (server && !serverExited) { try { process.kill(server.pid, 'SIGKILL'); } catch { } }
  rmSync(tmp, { recursive: true, force: true });
});

// --- the Node peer -------------------------------------------------------------------

const TO_OBJECT = { longs: String, enums: String, bytes: Array, defaults: true, oneofs: true };
let ServerMessage;
let ClientMessage;

class Peer {
  constructor(url) {
    this.queue = [];
    this.waiters = [];
    this.ws = new WebSocket(url);
    sockets.push(this.ws);
    this.ws.on('message', (data) => {
      this.queue.push(ClientMessage.toObject(ClientMessage.decode(data), TO_OBJECT));
      for (const w of [...this.waiters]) w();
    });
  }
  send(obj) { this.ws.send(ServerMessage.encode(ServerMessage.fromObject(obj)).finish()); }
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

// --- the page --------------------------------------------------------------------------

// Waits until the page has received a message of case `c` matching `pred` (a function
// body over `m`, the case's object, evaluated in the page) and returns it.
async function pageWait(page, c, what, pred = 'true') {
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

function mint(name, port) {
  return execFileSync(args.token, ['--keys', keysDir, '--user-id', `u-${name}`, '--name', name,
                                   '--member', '--port', String(port)], { encoding: 'utf8' }).trim();
}

async function run() {
  const root = await new protobuf.Root().load(args.proto, { keepCase: true });
  ServerMessage = root.lookupType('tutti.proto.ServerMessage');
  ClientMessage = root.lookupType('tutti.proto.ClientMessage');
  const port = await startServer();
  const httpPort = await startHttp();
  log(`server on ${port}, page server on ${httpPort}`);

  browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const page = await browser.newPage();
  page.on('console', (m) => log(`page console: ${m.text()}`));
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  const url = `http://127.0.0.1:${httpPort}/client.html?ws=${encodeURIComponent(mint('web', port))}`;
  await page.goto(url);

  // Welcome: the upgrade was accepted and the page decodes binary frames.
  const welcome = await pageWait(page, 'welcome', 'Welcome');
  eq(welcome.user.user_id, 'u-web', 'Welcome.user.user_id');
  const webSession = welcome.user.session_id;
  await page.evaluate(() => window.tutti.send({
    message_type: 'CreateRoomCommand', request_id: 'create',
    create_room_command: { room_name: 'Browser Room', room_type: 'PUBLIC' } }));
  const created = await pageWait(page, 'room_joined_response', 'the page\'s room');
  check(created.success, `the page created its room: ${JSON.stringify(created)}`);
  const roomId = created.room_info.room_id;
  console.log('browser: ok - Chromium connected, decoded Welcome and created a room');

  // A Node peer joins; the page sees it arrive.
  const peer = new Peer(mint('node', port));
  await peer.waitCase('welcome', 'the peer\'s Welcome');
  peer.send({ message_type: 'JoinRoomByName', request_id: 'join',
              join_room_by_name: { room_name: 'browser room' } });
  const joined = await peer.waitCase('room_joined_response', 'the peer\'s join');
  check(joined.success, 'peer joined the page\'s room');
  check(joined.current_users.some((u) => u.user_id === 'u-web'),
        'the peer sees the page\'s user in the room');
  const arrival = await pageWait(page, 'user_joined_room', 'UserJoinedRoom for the peer');
  eq(arrival.user_info.user_id, 'u-node', 'page: UserJoinedRoom.user_info.user_id');

  // What the page encodes is what the peer gets: a chat line and a note.
  await page.evaluate(() => {
    window.tutti.send({ message_type: 'RoomChatMessage', request_id: 'chat',
                        room_chat_message: { message: 'hello from chromium' } });
    window.tutti.send({ message_type: 'MidiMessage',
                        midi_message: { midi_data: [0x90, 60, 100], timestamp: 0 } });
  });
  const line = await peer.waitCase('room_chat_message', 'the page\'s chat line');
  eq(line.message, 'hello from chromium', 'peer: chat text');
  eq(line.user_id, 'u-web', 'peer: chat user_id');
  eq(line.session_id, webSession, 'peer: chat session_id');
  const note = await peer.waitCase('midi_message', 'the page\'s note');
  eq(Buffer.from(note.midi_data).toString('hex'), '903c64', 'peer: midi_data');
  eq(note.user_id, 'u-web', 'peer: midi user_id');
  check(BigInt(note.room_time) > 0n, 'peer: the note carries room_time');
  console.log('browser: ok - the page\'s chat line and note reached the Node peer');

  // And the other way: the page decodes what the server relays from the peer.
  peer.send({ message_type: 'RoomChatMessage', room_chat_message: { message: 'hello page' } });
  peer.send({ message_type: 'MidiMessage',
              midi_message: { midi_data: Buffer.from([0x90, 64, 90]), timestamp: 0 } });
  const back = await pageWait(page, 'room_chat_message', 'the peer\'s chat line',
                              'm.user_id === "u-node"');
  eq(back.message, 'hello page', 'page: chat text');
  const backNote = await pageWait(page, 'midi_message', 'the peer\'s note',
                                  'm.user_id === "u-node"');
  eq(JSON.stringify(backNote.midi_data), JSON.stringify([0x90, 64, 90]), 'page: midi_data');
  console.log('browser: ok - the page received the peer\'s chat line and note');

  // A clean close from the page: the peer sees the page's user leave.
  await page.evaluate(() => window.tutti.close());
  await page.waitForFunction(() => window.tutti.closed !== null, null,
                             { timeout: STEP_TIMEOUT_MS });
  eq((await page.evaluate(() => window.tutti.closed.code)), 1000, 'page: close code');
  const left = await peer.waitCase('user_left_room', 'UserLeftRoom for the page');
  eq(left.room_id, roomId, 'peer: UserLeftRoom.room_id');
  const errors = await page.evaluate(() => window.tutti.errors);
  eq(errors.length, 0, `page errors ${JSON.stringify(errors)}`);
  // Every frame the page got names its oneof in message_type (PROTOCOL.md §2).
  const mismatched = await page.evaluate(() => window.tutti.received.filter(
      (m) => !m.message || m.message_type.replace(/[A-Z]/g, (c, i) =>
          (i ? '_' : '') + c.toLowerCase()) !== m.message).map((m) => m.message_type));
  eq(mismatched.length, 0, `message_type that does not name the oneof: ${mismatched}`);
  console.log('browser: ok - the page closed cleanly and the peer saw it leave');
}

const overall = setTimeout(() => {
  console.error(`browser: FAIL: the whole test took over ${OVERALL_TIMEOUT_MS} ms`);
  cleanup().finally(() => process.exit(1));
}, OVERALL_TIMEOUT_MS);
try {
  await run();
  clearTimeout(overall);
  await cleanup();
  console.log('browser: PASS');
  process.exit(0);
} catch (e) {
  clearTimeout(overall);
  console.error(`browser: FAIL: ${e instanceof CheckFailed ? e.message : e.stack}`);
  console.error(`server output (last lines):\n${serverOutput.slice(-30).join('\n')}`);
  await cleanup();
  process.exit(1);
}

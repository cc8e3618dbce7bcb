#!/usr/bin/env node
// Compression test (docs/PROTOCOL.md, "Compression"): the server's permessage-deflate as
// real client libraries see it. Node's `ws` (offering the extension, and not) and
// Debian's Chromium (driven by playwright-core; a browser always offers it) join a room
// with a long chat history and ask for the room list: the compressing connections
// negotiate "permessage-deflate; server_no_context_takeover", read far fewer bytes for
// the join, and decode exactly the same messages as the connection that did not offer
// it, which gets plain frames. What ws and Chromium send compressed is read too.
//
//   node compress_test.mjs --server PATH/TO/tutti-server --token PATH/TO/tutti-token
//                          [--chromium /usr/bin/chromium] [--verbose]
//
// Exits 0 on success or 1 naming the failed check. The server, the HTTP server and the
// browser it started are always stopped, the temporary directory removed.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const STEP_TIMEOUT_MS = 10000;     // one reply or event (a cold browser is slow to start)
const OVERALL_TIMEOUT_MS = 100000; // the whole test (ctest allows 120 s)
const THRESHOLD = 256;             // compression_threshold given to the server
const HISTORY = 50;                // chat lines in the room (the server's default history)

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
  console.error(`compress: FAIL: ${msg}`);
  process.exit(code);
}
const log = (...m) => { if (args.verbose) console.log('compress:', ...m); };
class CheckFailed extends Error {}
function check(cond, what) { if (!cond) throw new CheckFailed(what); }
function eq(actual, expected, what) {
  if (actual !== expected) {
    throw new CheckFailed(`${what}: expected ${JSON.stringify(expected)}, ` +
                          `got ${JSON.stringify(actual)}`);
  }
}

// --- processes and servers this test starts (and stops) ----------------------------

const tmp = mkdtempSync(join(tmpdir(), 'tutti-compress-'));
const keysDir = join(tmp, 'keys');
let server = null;
let serverExited = false;
const serverOutput = [];
let httpServer = null;
let browser = null;
const sockets = [];

function startServer() {
  return new Promise((resolvePort, reject) => {
    // Chat and joins unthrottled (the test fills a room's history quickly); a threshold
    // low enough that a short room list is compressed too.
    writeFileSync(join(tmp, 'tutti.toml'), [
      'chat_per_second = 1000.0', 'chat_burst = 1000.0', 'joins_per_second = 1000.0',
      'join_burst = 1000.0', `compression_threshold = ${THRESHOLD}`, ''].join('\n'));
    server = spawn(args.server, ['--dev', '--drain-grace-s=0', '--port', '0', '--shards', '2', '--keys', keysDir,
                                 '--data', join(tmp, 'data'), '--config', join(tmp, 'tutti.toml')],
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
  // `deflate`: whether ws offers permessage-deflate (its default), and compresses every
  // message it sends (threshold 0) so that the server's inflate is exercised too.
  constructor(url, deflate) {
    this.queue = [];
    this.waiters = [];
    this.ws = new WebSocket(url, { perMessageDeflate: deflate ? { threshold: 0 } : false });
    this.answer = null;  // the server's Sec-WebSocket-Extensions ('' when none)
    this.ws.on('upgrade', (res) => { this.answer = res.headers['sec-websocket-extensions'] ?? ''; });
    sockets.push(this.ws);
    this.ws.on('message', (data) => {
      this.queue.push(ClientMessage.toObject(ClientMessage.decode(data), TO_OBJECT));
      for (const w of [...this.waiters]) w();
    });
  }
  send(obj) { this.ws.send(ServerMessage.encode(ServerMessage.fromObject(obj)).finish()); }
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

const line = (i) => `line ${i}: let us take the bridge slower, in D minor, and keep the left hand light`;
// Numbers as strings: protobufjs in the page, without Long, gives an int64 default as 0
// where Node's gives '0'; the values are what is compared, not that spelling.
const json = (x) => JSON.stringify(x, (k, v) => (typeof v === 'number' ? String(v) : v));

async function run() {
  const root = await new protobuf.Root().load(args.proto, { keepCase: true });
  ServerMessage = root.lookupType('tutti.proto.ServerMessage');
  ClientMessage = root.lookupType('tutti.proto.ClientMessage');
  const port = await startServer();
  const httpPort = await startHttp();
  log(`server on ${port}, page server on ${httpPort}`);

  // A room with a long history, and a few more rooms for the list (a room is listed
  // while someone is in it).
  const owner = new Peer(mint('owner', port), false);
  await owner.waitCase('welcome', 'the owner\'s Welcome');
  owner.send({ message_type: 'CreateRoomCommand', request_id: 'create',
               create_room_command: { room_name: 'Deflate Room', room_type: 'PUBLIC' } });
  check((await owner.waitCase('room_joined_response', 'the owner\'s room')).success, 'room created');
  for (let i = 0; i < HISTORY; i++) {
    owner.send({ message_type: 'RoomChatMessage', request_id: `c${i}`,
                 room_chat_message: { message: line(i) } });
  }
  for (let i = 0; i < HISTORY; i++) {
    await owner.waitCase('room_chat_message', `the owner's line ${i}`, (m) => m.message === line(i));
  }
  for (let i = 0; i < 4; i++) {
    const host = new Peer(mint(`host${i}`, port), false);
    await host.waitCase('welcome', 'a host\'s Welcome');
    host.send({ message_type: 'CreateRoomCommand',
                create_room_command: { room_name: `Evening session ${i}`, room_type: 'PUBLIC' } });
    check((await host.waitCase('room_joined_response', 'a host\'s room')).success, 'host room');
  }

  // Node's ws, offering permessage-deflate and not.
  const zip = new Peer(mint('zip', port), true);
  const flat = new Peer(mint('flat', port), false);
  await zip.waitCase('welcome', 'zip\'s Welcome');
  await flat.waitCase('welcome', 'flat\'s Welcome');
  eq(zip.answer, 'permessage-deflate; server_no_context_takeover; client_max_window_bits=10',
     'what the server answered ws\'s offer');
  eq(zip.ws.extensions, 'permessage-deflate', 'what ws took up');
  eq(flat.answer, '', 'no extension for the connection that offered none');

  const zipBefore = zip.bytesRead();
  zip.send({ message_type: 'JoinRoomByName', join_room_by_name: { room_name: 'deflate room' } });
  const zipJoin = await zip.waitCase('room_joined_response', 'zip\'s join');
  const zipJoinBytes = zip.bytesRead() - zipBefore;
  const flatBefore = flat.bytesRead();
  flat.send({ message_type: 'JoinRoomByName', join_room_by_name: { room_name: 'deflate room' } });
  const flatJoin = await flat.waitCase('room_joined_response', 'flat\'s join');
  const flatJoinBytes = flat.bytesRead() - flatBefore;
  check(zipJoin.success && flatJoin.success, 'both joined');
  eq(flatJoin.chat_history.length, HISTORY, 'chat history length (plain)');
  eq(json(zipJoin.chat_history), json(flatJoin.chat_history), 'chat history, compressed vs plain');
  eq(zipJoin.chat_history[HISTORY - 1].message, line(HISTORY - 1), 'the last line');
  log(`join: ${zipJoinBytes} bytes compressed, ${flatJoinBytes} plain`);
  // Each also got the other's arrival meanwhile: a few hundred bytes at most.
  check(zipJoinBytes * 2 < flatJoinBytes,
        `the compressed join read ${zipJoinBytes} bytes, the plain one ${flatJoinBytes}`);
  console.log(`compress: ok - ws decodes the compressed join (${zipJoinBytes} bytes read vs ` +
              `${flatJoinBytes} plain) with the same ${HISTORY}-line history`);

  // Chromium: it always offers the extension and compresses what it sends.
  browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const page = await browser.newPage();
  page.on('console', (m) => log(`page console: ${m.text()}`));
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  await page.goto(`http://127.0.0.1:${httpPort}/client.html?ws=${encodeURIComponent(mint('web', port))}`);
  await pageWait(page, 'welcome', 'the page\'s Welcome');
  const ext = await page.evaluate(() => window.tutti.extensions);
  check(/^permessage-deflate; server_no_context_takeover(; |$)/.test(ext),
        `Chromium negotiated permessage-deflate (extensions: ${json(ext)})`);
  await page.evaluate(() => window.tutti.send({
    message_type: 'JoinRoomByName', join_room_by_name: { room_name: 'deflate room' } }));
  const pageJoin = await pageWait(page, 'room_joined_response', 'the page\'s join');
  check(pageJoin.success, 'the page joined');
  eq(json(pageJoin.chat_history), json(flatJoin.chat_history),
     'chat history, Chromium (compressed) vs ws (plain)');
  console.log(`compress: ok - Chromium negotiated "${ext}" and decodes the same history`);

  // The room list, asked once everyone is in place: the same for all three.
  await flat.waitCase('user_joined_room', 'the page\'s arrival', (m) => m.user_info.user_id === 'u-web');
  await zip.waitCase('user_joined_room', 'the page\'s arrival', (m) => m.user_info.user_id === 'u-web');
  zip.send({ message_type: 'GetRoomList', request_id: 'list', get_room_list: {} });
  flat.send({ message_type: 'GetRoomList', request_id: 'list', get_room_list: {} });
  await page.evaluate(() => window.tutti.send({
    message_type: 'GetRoomList', request_id: 'list', get_room_list: {} }));
  const zipList = await zip.waitCase('room_list', 'zip\'s room list');
  const flatList = await flat.waitCase('room_list', 'flat\'s room list');
  const pageList = await pageWait(page, 'room_list', 'the page\'s room list');
  check(flatList.rooms.length >= 5, `the list has the five rooms: ${flatList.rooms.length}`);
  eq(json(zipList), json(flatList), 'room list, ws compressed vs plain');
  eq(json(pageList), json(flatList), 'room list, Chromium vs ws plain');

  // What ws sends compressed (every message, threshold 0) the server reads.
  zip.send({ message_type: 'RoomChatMessage', room_chat_message: { message: 'squeezed by ws' } });
  const fromZip = await flat.waitCase('room_chat_message', 'zip\'s line',
                                      (m) => m.message === 'squeezed by ws');
  eq(fromZip.user_id, 'u-zip', 'the compressed line\'s sender');

  // And Chromium's own (compressed) line reaches the plain peer.
  await page.evaluate(() => window.tutti.send({ message_type: 'RoomChatMessage',
                                                room_chat_message: { message: 'squeezed by chromium' } }));
  const fromPage = await flat.waitCase('room_chat_message', 'the page\'s line',
                                       (m) => m.message === 'squeezed by chromium');
  eq(fromPage.user_id, 'u-web', 'the page\'s line\'s sender');
  const errors = await page.evaluate(() => window.tutti.errors);
  eq(errors.length, 0, `page errors ${json(errors)}`);
  console.log('compress: ok - room lists alike; what ws and Chromium sent compressed was read');
}

const overall = setTimeout(() => {
  console.error(`compress: FAIL: the whole test took over ${OVERALL_TIMEOUT_MS} ms`);
  cleanup().finally(() => process.exit(1));
}, OVERALL_TIMEOUT_MS);
try {
  await run();
  clearTimeout(overall);
  await cleanup();
  console.log('compress: PASS');
  process.exit(0);
} catch (e) {
  clearTimeout(overall);
  console.error(`compress: FAIL: ${e instanceof CheckFailed ? e.message : e.stack}`);
  console.error(`server output (last lines):\n${serverOutput.slice(-30).join('\n')}`);
  await cleanup();
  process.exit(1);
}

#!/usr/bin/env node
// Interop test: a Tutti client written in another language (Node.js) from
// docs/PROTOCOL.md, docs/AUTH.md and protos/tutti.proto alone, with its own protobuf
// library (protobufjs), libsodium (libsodium-wrappers) and JWT library (jose), run
// against the real server binary.
//
//   node interop_test.mjs --server PATH/TO/tutti-server [--proto PATH] [--verbose]
//
// Starts the server on 127.0.0.1 with an ephemeral port and fresh key and data dirs,
// connects clients, checks the documented behaviour, and exits 0 on success or 1 with
// a message naming the failed check. The server it started is always stopped (by its
// PID) and the temporary directory removed. Also a worked example for client authors.

import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

import { CheckFailed, HERE, OVERALL_TIMEOUT_MS, ServerProcess, check, eq } from './harness.mjs';

const STEP_TIMEOUT_MS = 5000;      // one reply or event

// ---------------------------------------------------------------------------
// Arguments and dependencies
// ---------------------------------------------------------------------------

function usage(msg) {
  console.error(`interop: ${msg}`);
  console.error('usage: node interop_test.mjs --server PATH [--proto PATH] [--verbose]');
  process.exit(2);
}

const args = { server: null, proto: resolve(HERE, '../../protos/tutti.proto'), verbose: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--server') args.server = process.argv[++i];
  else if (a === '--proto') args.proto = process.argv[++i];
  else if (a === '--verbose') args.verbose = true;
  else usage(`unknown argument ${a}`);
}
if (!args.server) usage('--server is required');
if (!existsSync(args.server)) usage(`server binary not found: ${args.server}`);
if (!existsSync(args.proto)) usage(`proto file not found: ${args.proto}`);

// The npm packages are installed by tools/setup.sh (npm ci here). A missing install is
// a failure, not a skip: this test is the proof that the documented protocol works.
const DEPS = ['ws', 'protobufjs', 'libsodium-wrappers', 'jose'];
const missing = DEPS.filter((d) => !existsSync(join(HERE, 'node_modules', d, 'package.json')));
if (missing.length > 0) {
  console.error(`interop: FAIL: npm packages missing in tests/interop/node_modules ` +
                `(${missing.join(', ')}). Run tools/setup.sh (it runs npm ci in tests/interop).`);
  process.exit(1);
}
// Node 18 (Debian 12's nodejs) has WebCrypto only as node:crypto's webcrypto, not as
// globalThis.crypto, which libsodium-wrappers' ESM build and jose expect.
if (globalThis.crypto?.getRandomValues === undefined) {
  globalThis.crypto = (await import('node:crypto')).webcrypto;
}
const { default: WebSocket } = await import('ws');
const { default: protobuf } = await import('protobufjs');
const { default: sodium } = await import('libsodium-wrappers');
const jose = await import('jose');
await sodium.ready;

const log = (...m) => { if (args.verbose) console.log('interop:', ...m); };

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailed(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------
// Server process (started here, stopped here by PID)
// ---------------------------------------------------------------------------

const tmp = mkdtempSync(join(tmpdir(), 'tutti-interop-'));
const keysDir = join(tmp, 'keys');
const dataDir = join(tmp, 'data');
mkdirSync(keysDir, { mode: 0o700 });
mkdirSync(dataDir, { mode: 0o700 });

const server = new ServerProcess(args.server, ['--dev', '--drain-grace-s=0', '--port', '0',
                                               '--shards', '2', '--keys', keysDir, '--data', dataDir]);

// Stops the server and removes the temporary directory; every caller gets the same
// promise, so the work is done once and nobody exits before it is finished.
let cleanupPromise = null;
function cleanup() {
  cleanupPromise ??= (async () => {
    for (const c of openClients) { try { c.ws.terminate(); } catch { /* closed */ } }
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  })();
  return cleanupPromise;
}
// Last resort if the process exits some other way: synchronous, idempotent.
process.on('exit', () => {
  server.kill();
  rmSync(tmp, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { cleanup().finally(() => process.exit(1)); });
}

// ---------------------------------------------------------------------------
// Key files (AUTH.md "Key files"): "tutti-<kind>-v1 <base64url, no padding>\n"
// ---------------------------------------------------------------------------

function readKey(file, kind) {
  const path = join(keysDir, file);
  const mode = statSync(path).mode & 0o777;
  eq(mode.toString(8), kind.endsWith('secret') ? '600' : '644', `${file}: file mode`);
  const text = readFileSync(path, 'utf8');
  const line = text.replace(/\r?\n$/, '');
  const sp = line.indexOf(' ');
  check(sp > 0 && !line.includes('\n'), `${file}: one line "<tag> <key>" expected`);
  eq(line.slice(0, sp), `tutti-${kind}-v1`, `${file}: tag`);
  const b64 = line.slice(sp + 1);
  check(/^[A-Za-z0-9_-]+$/.test(b64), `${file}: base64url without padding expected`);
  const bytes = sodium.from_base64(b64, sodium.base64_variants.URLSAFE_NO_PADDING);
  eq(bytes.length, 32, `${file}: key length`);
  return { b64, bytes };
}

// ---------------------------------------------------------------------------
// Connect payload (PROTOCOL.md §1, AUTH.md "The connect URL")
// ---------------------------------------------------------------------------

let keys;        // { sealPub, issuerJwk, issuerKey }
let base = '';   // http://127.0.0.1:PORT

async function mintToken({ sub, name, member = true, ttlS = 600, signingKey = null }) {
  return new jose.SignJWT({ name, member })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlS)
    .sign(signingKey ?? keys.issuerKey);
}

function newSocketId() {
  return randomBytes(16).toString('base64url');
}

function sealPayload(obj) {
  const sealed = sodium.crypto_box_seal(sodium.from_string(JSON.stringify(obj)), keys.sealPub);
  return sealed;  // Uint8Array
}

function encodePayload(sealed) {
  return sodium.to_base64(sealed, sodium.base64_variants.URLSAFE_NO_PADDING);
}

async function memberPayload(uuid, name, extra = {}) {
  const token = await mintToken({ sub: uuid, name, ...extra.token });
  return {
    username: name, uuid, socket_id: extra.socket_id ?? newSocketId(), is_member: true,
    token, ts: Date.now(),
  };
}

function urlFor(encoded) {
  return `${base.replace('http:', 'ws:')}/api/websocket/${encoded}`;
}

// ---------------------------------------------------------------------------
// Protobuf envelopes (PROTOCOL.md §2)
// ---------------------------------------------------------------------------

let ServerMessage;  // client -> server
let ClientMessage;  // server -> client
const TO_OBJECT = { longs: String, enums: String, defaults: true, oneofs: true };

// fromObject takes enum names as strings, int64 as decimal strings or numbers, and
// bytes as Buffers.
function encodeRequest(fields) {
  return ServerMessage.encode(ServerMessage.fromObject(fields)).finish();
}

// The oneof case of a decoded ClientMessage, e.g. "room_joined_response", and the type
// name it holds, e.g. "RoomJoinedResponse" (which message_type must name).
function caseOf(msg) { return msg.message; }
function typeNameOfCase(env, c) { return env.fields[c].resolvedType.name; }

const BI = (s) => BigInt(s);  // int64/uint64 arrive as decimal strings

// ---------------------------------------------------------------------------
// A client: one WebSocket, a queue of decoded ClientMessages, waitFor(predicate)
// ---------------------------------------------------------------------------

const openClients = new Set();

class Client {
  constructor(label, ws) {
    this.label = label;
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    this.closed = null;
    this.protocolErrors = [];
    this.all = [];
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      openClients.delete(this);
      this.wake();
    });
    ws.on('error', (e) => this.protocolErrors.push(`socket error: ${e.message}`));
    openClients.add(this);
  }

  onMessage(data, isBinary) {
    if (!isBinary) {
      this.protocolErrors.push('server sent a text frame (PROTOCOL.md §2: binary only)');
      return;
    }
    let obj;
    try {
      obj = ClientMessage.toObject(ClientMessage.decode(data), TO_OBJECT);
    } catch (e) {
      this.protocolErrors.push(`undecodable ClientMessage: ${e.message}`);
      return;
    }
    const c = caseOf(obj);
    if (!c) {
      this.protocolErrors.push('ClientMessage with no oneof case set');
    } else {
      // PROTOCOL.md §2: "The server always sets message_type on what it sends."
      const expected = typeNameOfCase(ClientMessage, c);
      if (obj.message_type !== expected) {
        this.protocolErrors.push(`message_type ${obj.message_type} does not match ` +
                                 `oneof ${c} (${expected})`);
      }
    }
    log(`${this.label} <- ${c} ${args.verbose ? JSON.stringify(obj[c]) : ''} ` +
        `rid=${JSON.stringify(obj.request_id)}`);
    this.all.push(obj);
    this.queue.push(obj);
    this.wake();
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  send(fields) {
    const c = Object.keys(fields).find((k) => k !== 'message_type' && k !== 'request_id');
    log(`${this.label} -> ${c} rid=${JSON.stringify(fields.request_id ?? '')}`);
    this.ws.send(encodeRequest(fields), { binary: true });
  }

  // Removes and returns the first queued message for which pred(msg) is true; waits
  // for one up to ms. Messages that do not match stay queued (for later waits).
  waitFor(pred, what, ms = STEP_TIMEOUT_MS) {
    const p = new Promise((resolveMsg, reject) => {
      const tryTake = () => {
        const i = this.queue.findIndex(pred);
        if (i >= 0) {
          const [m] = this.queue.splice(i, 1);
          done();
          resolveMsg(m);
          return true;
        }
        if (this.closed) {
          done();
          reject(new CheckFailed(`${this.label}: connection closed (${this.closed.code} ` +
                                 `${this.closed.reason}) while waiting for ${what}`));
          return true;
        }
        return false;
      };
      const waiter = () => { tryTake(); };
      const done = () => { this.waiters = this.waiters.filter((w) => w !== waiter); };
      if (!tryTake()) this.waiters.push(waiter);
    });
    return withTimeout(p, ms, `${this.label} waiting for ${what}`).catch((e) => {
      const seen = this.queue.map((m) => `${caseOf(m)}${m.error_message ? `(${m.error_message.error_code}: ${m.error_message.error_message})` : ''}`);
      if (seen.length > 0) e.message += ` [queued: ${seen.join(', ')}]`;
      throw e;
    });
  }

  waitCase(c, what, extra = () => true, ms) {
    return this.waitFor((m) => caseOf(m) === c && extra(m), what ?? c, ms);
  }

  // A reply to a request: the given case, or an ErrorMessage with that request id
  // (reported as a failure with its code and text).
  async reply(c, requestId, what) {
    const m = await this.waitFor(
      (x) => x.request_id === requestId && (caseOf(x) === c || caseOf(x) === 'error_message'),
      `${what} (request_id ${requestId})`);
    if (caseOf(m) === 'error_message' && c !== 'error_message') {
      const e = m.error_message;
      throw new CheckFailed(`${what}: server answered ${e.error_code}: ${e.error_message}`);
    }
    return m;
  }

  close() {
    return new Promise((r) => {
      if (this.closed) return r();
      this.ws.once('close', () => r());
      this.ws.close(1000);
      setTimeout(() => { try { this.ws.terminate(); } catch { /* closed */ } r(); }, 2000);
    });
  }
}

// Opens a WebSocket with the given encoded payload. Resolves { client } after the
// upgrade, or { status, body } when the server refuses with a plain HTTP answer.
function connect(label, encoded) {
  return withTimeout(new Promise((resolveConn, reject) => {
    const ws = new WebSocket(urlFor(encoded));
    let settled = false;
    const client = new Client(label, ws);  // attach handlers before any frame can arrive
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        settled = true;
        openClients.delete(client);
        ws.terminate();
        resolveConn({ status: res.statusCode, body: body.trim() });
      });
      res.on('error', () => {});
      req.on('error', () => {});
    });
    ws.once('open', () => { settled = true; resolveConn({ client }); });
    ws.once('error', (e) => { if (!settled) { settled = true; reject(e); } });
  }), STEP_TIMEOUT_MS, `${label}: connect`);
}

async function connectOk(label, encoded) {
  const r = await connect(label, encoded);
  if (!r.client) {
    throw new CheckFailed(`${label}: connect refused with HTTP ${r.status}: ${r.body}`);
  }
  return r.client;
}

async function expectRefused(label, encoded, status) {
  const r = await connect(label, encoded);
  if (r.client) {
    await r.client.close();
    throw new CheckFailed(`${label}: expected HTTP ${status}, but the connection was upgraded`);
  }
  eq(r.status, status, `${label}: HTTP status (body "${r.body}")`);
  check(r.body.length > 0 && !r.body.includes('\n'),
        `${label}: refusal body "${r.body}" is a one-line reason`);
  log(`${label}: HTTP ${r.status} "${r.body}"`);
  return r;
}

// A fresh connection per request: the server closes the connection after every plain
// HTTP answer, so a kept-alive socket must not be reused (PROTOCOL.md §1).
function httpGet(path) {
  return withTimeout(new Promise((res, rej) => {
    http.get(`${base}${path}`, { agent: false }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d) => { body += d; });
      r.on('end', () => res({ status: r.statusCode, body: body.trim() }));
    }).on('error', rej);
  }), STEP_TIMEOUT_MS, `GET ${path}`);
}

// Client clock in microseconds (any monotonic clock will do; PROTOCOL.md §7).
const nowUs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));

// ---------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------

const passed = [];
function ok(what) { passed.push(what); log(`ok: ${what}`); }

async function checkWelcome(client, who) {
  const m = await client.waitFor(() => true, 'the first message (Welcome)');
  eq(caseOf(m), 'welcome', `${client.label}: first message after connect`);
  const w = m.welcome;
  if (who.guest) {
    check(/^guest:[0-9a-f]{16}$/.test(w.user.user_id),
          `${client.label}: guest user_id "${w.user.user_id}" is not guest:<16 hex>`);
    eq(w.user.is_guest, true, `${client.label}: Welcome.user.is_guest`);
    eq(w.user.is_member, false, `${client.label}: Welcome.user.is_member`);
  } else {
    eq(w.user.user_id, who.uuid, `${client.label}: Welcome.user.user_id (token sub)`);
    eq(w.user.is_member, true, `${client.label}: Welcome.user.is_member (token claim)`);
    eq(w.user.is_guest, false, `${client.label}: Welcome.user.is_guest`);
  }
  eq(w.user.username, who.name, `${client.label}: Welcome.user.username`);
  check(BI(w.user.session_id) > 0n, `${client.label}: Welcome.user.session_id is set`);
  check(BI(w.server_time) > 0n, `${client.label}: Welcome.server_time is set`);
  check(Math.abs(Number(w.unix_time_ms) - Date.now()) < 60000,
        `${client.label}: Welcome.unix_time_ms ${w.unix_time_ms} is Unix ms near now`);
  check(w.limits && w.limits.max_frame_bytes > 0 && w.limits.max_chat_length > 0 &&
        w.limits.heartbeat_interval_ms > 0 && w.limits.max_events_per_midi_message > 0,
        `${client.label}: Welcome.limits is filled`);
  check(w.shard < 2, `${client.label}: Welcome.shard ${w.shard} is one of the 2 shards`);
  check(w.server_version.length > 0, `${client.label}: Welcome.server_version is set`);
  client.welcome = w;
  return w;
}

async function run() {
  const { port, shards } = await server.start();
  eq(shards, 2, 'shards in the listening line');
  base = `http://127.0.0.1:${port}`;
  log(`server pid ${server.pid} on port ${port}`);
  ok('server started and printed its listening line');

  // Key files written by the server on first run, read as AUTH.md describes.
  const sealPub = readKey('server_seal.pub', 'seal-public');
  const issuerSec = readKey('issuer_sign.key', 'issuer-secret');
  const issuerPub = readKey('issuer_sign.pub', 'issuer-public');
  const sealSec = readKey('server_seal.key', 'seal-secret');
  // The seed is the RFC 8032 private key: it derives the published public key.
  const kp = sodium.crypto_sign_seed_keypair(issuerSec.bytes);
  check(sodium.memcmp(kp.publicKey, issuerPub.bytes),
        'issuer_sign.key seed does not derive issuer_sign.pub');
  check(sodium.memcmp(sodium.crypto_scalarmult_base(sealSec.bytes), sealPub.bytes),
        'server_seal.key does not derive server_seal.pub');
  const issuerJwk = { kty: 'OKP', crv: 'Ed25519', d: issuerSec.b64, x: issuerPub.b64 };
  keys = { sealPub: sealPub.bytes, issuerKey: await jose.importJWK(issuerJwk, 'EdDSA') };
  ok('key files: format, tags, lengths, modes, secret -> public key');

  const root = new protobuf.Root();
  root.loadSync(args.proto, { keepCase: true });
  root.resolveAll();
  ServerMessage = root.lookupType('tutti.proto.ServerMessage');
  ClientMessage = root.lookupType('tutti.proto.ClientMessage');

  // Health check and other paths (PROTOCOL.md §1).
  const hz = await httpGet('/healthz');
  eq(hz.status, 200, 'GET /healthz status');
  eq(hz.body, 'ok', 'GET /healthz body');
  eq((await httpGet('/elsewhere')).status, 404, 'GET /elsewhere status');
  ok('/healthz 200 ok, other path 404');

  const tag = randomBytes(4).toString('hex');
  const alice = { uuid: `interop-alice-${tag}`, name: 'Alice' };
  const bob = { uuid: `interop-bob-${tag}`, name: 'Bob' };

  // --- Refusals before the upgrade: a tampered payload is 400 and does not consume
  // its socket_id; the untampered payload then connects; replaying it is 409.
  const alicePayload = await memberPayload(alice.uuid, alice.name);
  const sealed = sealPayload(alicePayload);
  const tampered = Uint8Array.from(sealed);
  tampered[tampered.length >> 1] ^= 0x01;
  await expectRefused('tampered', encodePayload(tampered), 400);
  await expectRefused('not base64url', encodePayload(sealed) + '%3D%3D', 400);
  ok('tampered payload -> HTTP 400');

  const aliceUrlPayload = encodePayload(sealed);
  const A = await connectOk('A', aliceUrlPayload);
  await checkWelcome(A, alice);
  ok('member A connected (the refused tampered copy did not use up its socket_id)');

  await expectRefused('replay', aliceUrlPayload, 409);
  // A new seal of a payload reusing the socket_id is a replay too (AUTH.md).
  await expectRefused('reused socket_id',
                      encodePayload(sealPayload({ ...alicePayload, ts: Date.now() })), 409);
  ok('replayed payload -> HTTP 409 (same bytes and same socket_id resealed)');

  // Token problems are 401 (AUTH.md "Refusals and HTTP status").
  const otherIssuer = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const forged = { ...(await memberPayload(alice.uuid, alice.name)),
                   token: await mintToken({ sub: alice.uuid, name: alice.name,
                                            signingKey: otherIssuer.privateKey }) };
  await expectRefused('foreign issuer', encodePayload(sealPayload(forged)), 401);
  const mismatch = { ...(await memberPayload(alice.uuid, alice.name)), uuid: 'someone-else' };
  await expectRefused('sub != uuid', encodePayload(sealPayload(mismatch)), 401);
  const stale = { ...(await memberPayload(alice.uuid, alice.name)), ts: Date.now() - 120000 };
  await expectRefused('stale ts', encodePayload(sealPayload(stale)), 401);
  ok('foreign-issuer token, sub != uuid, stale ts -> HTTP 401');

  const B = await connectOk('B', encodePayload(sealPayload(await memberPayload(bob.uuid, bob.name))));
  await checkWelcome(B, bob);
  ok('member B connected');

  const guestName = 'Node Guest';
  const G = await connectOk('G', encodePayload(sealPayload({
    username: guestName, uuid: '', socket_id: newSocketId(), is_member: false, token: '',
    ts: Date.now(),
  })));
  await checkWelcome(G, { guest: true, name: guestName });
  await G.close();
  ok('guest connected with user_id guest:<16 hex>');

  // --- Rooms (PROTOCOL.md §5): A creates, B joins by a differently cased name.
  const roomName = `Interop  Room ${tag}`;
  const roomId = `interop room ${tag}`;
  A.send({ message_type: 'CreateRoomCommand', request_id: 'req-create',
           create_room_command: { room_name: roomName, room_type: 'PUBLIC' } });
  const created = (await A.reply('room_joined_response', 'req-create', 'CreateRoomCommand'))
    .room_joined_response;
  eq(created.success, true, 'create: RoomJoinedResponse.success');
  eq(created.room_info.room_id, roomId, 'create: room_id is the canonical name');
  eq(created.room_info.owner_id, alice.uuid, 'create: owner_id');
  eq(created.you.user_id, alice.uuid, 'create: you.user_id');
  check(created.you.roles.includes('ROLE_ROOM_OWNER'),
        `create: you.roles ${JSON.stringify(created.you.roles)} include ROLE_ROOM_OWNER`);
  ok('A created the room (RoomJoinedResponse, request_id echoed, canonical room_id)');

  // No message_type (zero = not given) is accepted too.
  B.send({ request_id: 'req-join',
           join_room_by_name: { room_name: `INTEROP ROOM ${tag}` } });
  const joined = (await B.reply('room_joined_response', 'req-join', 'JoinRoomByName'))
    .room_joined_response;
  eq(joined.success, true, 'join: RoomJoinedResponse.success');
  eq(joined.room_info.room_id, roomId, 'join: room_id');
  const members = joined.current_users.map((u) => u.user_id).sort();
  eq(JSON.stringify(members), JSON.stringify([alice.uuid, bob.uuid].sort()),
     'join: current_users');
  const seen = await A.waitCase('user_joined_room', 'UserJoinedRoom for B');
  eq(seen.user_joined_room.user_info.user_id, bob.uuid, 'UserJoinedRoom.user_info.user_id');
  eq(seen.user_joined_room.room_id, roomId, 'UserJoinedRoom.room_id');
  ok('B joined by name (case-insensitive); A got UserJoinedRoom');

  // --- Chat (PROTOCOL.md §6).
  const text = `hello from node ${tag}`;
  A.send({ message_type: 'RoomChatMessage', request_id: 'req-chat',
           room_chat_message: { message: `  ${text}\u0007 ` } });
  const own = (await A.reply('room_chat_message', 'req-chat', 'chat (own copy)')).room_chat_message;
  const gotMsg = await B.waitCase('room_chat_message', 'A\'s chat line');
  eq(gotMsg.request_id, '', 'chat B copy: request_id (the sender\'s is not passed on)');
  const got = gotMsg.room_chat_message;
  for (const [who, c] of [['A copy', own], ['B copy', got]]) {
    eq(c.message, text, `chat ${who}: cleaned text`);
    eq(c.user_id, alice.uuid, `chat ${who}: user_id`);
    eq(c.username, alice.name, `chat ${who}: username`);
    eq(c.session_id, A.welcome.user.session_id, `chat ${who}: session_id`);
    eq(c.message_type, 'USER_MESSAGE', `chat ${who}: message_type`);
    check(BI(c.server_time) >= BI(A.welcome.server_time),
          `chat ${who}: server_time ${c.server_time} is server time (>= Welcome's)`);
    check(BI(c.message_id) > 0n, `chat ${who}: message_id is set`);
  }
  eq(got.message_id, own.message_id, 'chat: same message_id for sender and receiver');
  ok('A chatted; B received it with sender, session, server_time, message_id');

  // --- MIDI (PROTOCOL.md §8): unsynced sender (timestamp 0), note-on then note-off.
  const noteOn = Buffer.from([0x90, 60, 100]);
  const noteOff = Buffer.from([0x80, 60, 0]);
  A.send({ message_type: 'MidiMessage', midi_message: { midi_data: noteOn, timestamp: 0 } });
  A.send({ message_type: 'MidiMessage', midi_message: { midi_data: noteOff, timestamp: 0 } });
  const m1 = (await B.waitCase('midi_message', 'note-on relay')).midi_message;
  const m2 = (await B.waitCase('midi_message', 'note-off relay')).midi_message;
  for (const [i, m, data] of [[1, m1, noteOn], [2, m2, noteOff]]) {
    eq(Buffer.from(m.midi_data).toString('hex'), data.toString('hex'), `midi ${i}: midi_data`);
    eq(m.user_id, alice.uuid, `midi ${i}: user_id`);
    eq(m.session_id, A.welcome.user.session_id, `midi ${i}: session_id`);
    eq(m.sequence, String(i), `midi ${i}: sequence`);
    check(BI(m.timestamp) > 0n, `midi ${i}: stamped timestamp is set`);
    check(BI(m.server_arrival_time) >= BI(A.welcome.server_time),
          `midi ${i}: server_arrival_time is server time`);
    check(BI(m.room_time) > 0n, `midi ${i}: room_time is set`);
    check((m.flags & 2) !== 0, `midi ${i}: flags ${m.flags} include RESTAMPED (unsynced sender)`);
    check((m.flags & 4) === 0, `midi ${i}: not SYNTHETIC`);
  }
  check(BI(m2.room_time) > BI(m1.room_time), 'midi: room_time strictly increases');
  check(BI(m2.timestamp) >= BI(m1.timestamp), 'midi: stamped times keep order');
  ok('A played note-on/off; B received them with user_id, sequence 1 and 2, server stamps');

  // --- Heartbeat and clock sync (PROTOCOL.md §7).
  const t1 = nowUs();
  A.send({ message_type: 'HeartbeatMessage', request_id: 'req-hb',
           heartbeat_message: { timestamp: t1.toString() } });
  const hbMsg = await A.reply('heartbeat_message', 'req-hb', 'HeartbeatMessage');
  const t4 = nowUs();
  const hb = hbMsg.heartbeat_message;
  eq(hb.timestamp, t1.toString(), 'heartbeat: t1 echoed');
  const t2 = BI(hb.server_receive_time);
  const t3 = BI(hb.server_send_time);
  check(t2 > 0n && t3 > 0n, 'heartbeat: t2 and t3 are set');
  check(t2 <= t3, `heartbeat: t2 (${t2}) <= t3 (${t3})`);
  const rtt = (t4 - t1) - (t3 - t2);
  check(rtt >= 0n && rtt < 5000000n, `heartbeat: round trip ${rtt} us is plausible`);
  ok(`heartbeat round trip: t1 echoed, t2 <= t3, request_id echoed (rtt ${rtt} us)`);

  // --- Leaving: RoomLeft to B (request_id echoed), UserLeftRoom to A.
  B.send({ message_type: 'LeaveRoom', request_id: 'req-leave', leave_room: {} });
  const left = (await B.reply('room_left', 'req-leave', 'LeaveRoom')).room_left;
  eq(left.room_id, roomId, 'RoomLeft.room_id');
  eq(left.reason, 'left', 'RoomLeft.reason');
  const ul = (await A.waitCase('user_left_room', 'UserLeftRoom for B')).user_left_room;
  eq(ul.user_id, bob.uuid, 'UserLeftRoom.user_id');
  eq(ul.session_id, B.welcome.user.session_id, 'UserLeftRoom.session_id');
  eq(ul.room_id, roomId, 'UserLeftRoom.room_id');
  eq(ul.reason, 'left', 'UserLeftRoom.reason');
  ok('B left: RoomLeft "left" to B, UserLeftRoom to A');

  // --- Errors (PROTOCOL.md §4). B is in no room now: a refused join while in a room
  // also leaves that room first (PROTOCOL.md §5), which is not what is tested here.
  B.send({ message_type: 'JoinRoomByName', request_id: 'req-missing',
           join_room_by_name: { room_name: `no such room ${tag}` } });
  const nf = (await B.reply('error_message', 'req-missing', 'join of a missing room'))
    .error_message;
  eq(nf.code, 'NOT_FOUND', 'missing room: ErrorMessage.code');
  eq(nf.error_code, 'NOT_FOUND', 'missing room: ErrorMessage.error_code');
  eq(nf.error_type, 'RESOURCE_ERROR', 'missing room: ErrorMessage.error_type');
  check(nf.error_message.length > 0, 'missing room: ErrorMessage.error_message is set');
  ok('join of a missing room -> NOT_FOUND (code and error_code), request_id echoed');

  // Chat outside a room -> WRONG_STATE.
  B.send({ message_type: 'RoomChatMessage', request_id: 'req-roomless',
           room_chat_message: { message: 'anyone?' } });
  const ws1 = (await B.reply('error_message', 'req-roomless', 'chat outside a room'))
    .error_message;
  eq(ws1.error_code, 'WRONG_STATE', 'chat outside a room: error_code');
  ok('chat outside a room -> WRONG_STATE');

  // message_type that disagrees with the oneof -> MALFORMED_MESSAGE. Malformed frames
  // are answered without a request_id (PROTOCOL.md §4).
  A.send({ message_type: 'CreateRoomCommand', request_id: 'req-mismatch',
           heartbeat_message: { timestamp: '1' } });
  const mm = (await A.waitCase('error_message', 'MALFORMED_MESSAGE for a type/oneof mismatch'))
    .error_message;
  eq(mm.code, 'MALFORMED_MESSAGE', 'type/oneof mismatch: code');
  eq(mm.error_code, 'MALFORMED_MESSAGE', 'type/oneof mismatch: error_code');
  eq(mm.error_type, 'VALIDATION_ERROR', 'type/oneof mismatch: error_type');
  ok('message_type/oneof mismatch -> MALFORMED_MESSAGE');

  // The connection stays usable after a refusal.
  A.send({ request_id: 'req-hb2', heartbeat_message: { timestamp: '42' } });
  eq((await A.reply('heartbeat_message', 'req-hb2', 'heartbeat after an error'))
    .heartbeat_message.timestamp, '42', 'heartbeat after an error: t1 echoed');

  // MIDI is never relayed back to its sender.
  check(!A.all.some((m) => caseOf(m) === 'midi_message'), 'A received its own MIDI back');

  for (const c of [A, B, G]) {
    check(c.protocolErrors.length === 0, `${c.label}: ${c.protocolErrors.join('; ')}`);
  }
  ok('every server frame was binary, decodable, with message_type matching its oneof');

  await A.close();
  await B.close();
}

async function main() {
  const overall = setTimeout(() => {
    console.error(`interop: FAIL: the whole test took longer than ${OVERALL_TIMEOUT_MS} ms`);
    cleanup().finally(() => process.exit(1));
  }, OVERALL_TIMEOUT_MS);
  let code = 0;
  try {
    await run();
    console.log(`interop: PASS (${passed.length} checks)`);
    for (const p of passed) console.log(`  ok  ${p}`);
  } catch (e) {
    code = 1;
    for (const p of passed) console.error(`  ok  ${p}`);
    console.error(`interop: FAIL: ${e instanceof CheckFailed ? e.message : e.stack}`);
    if (server.output.length > 0) {
      console.error('interop: last server output:');
      for (const l of server.output) console.error(`  ${l}`);
    }
  } finally {
    clearTimeout(overall);
    await cleanup();
  }
  process.exit(code);
}

await main();

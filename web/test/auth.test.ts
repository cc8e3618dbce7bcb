// The page's sealed connect payload, opened by the C++ server: a real tutti-server
// (TUTTI_SERVER, started here on 127.0.0.1 with a free port and temporary keys) must
// upgrade a guest and a member (token minted by tutti-token, TUTTI_TOKEN) whose payloads
// this code sealed, send a Welcome naming them, and refuse a tampered or replayed one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { connectUrl, parseServerInfo, payloadFor, sealPayload, sodiumReady, tokenClaims,
         type ServerInfo } from '../src/net/auth.js';
import { decodeReply } from '../src/net/proto.js';

if (globalThis.crypto?.getRandomValues === undefined) {
  (globalThis as { crypto?: unknown }).crypto = (await import('node:crypto')).webcrypto;
}

const SERVER = process.env.TUTTI_SERVER ?? '';
const TOKEN = process.env.TUTTI_TOKEN ?? '';
const tmp = mkdtempSync(join(tmpdir(), 'tutti-web-auth-'));
let server: ChildProcess | null = null;
let port = 0;
let info: ServerInfo;

before(async () => {
  assert.ok(SERVER && TOKEN, 'TUTTI_SERVER and TUTTI_TOKEN must name the built binaries (ctest sets them)');
  await sodiumReady();
  server = spawn(SERVER, ['--dev', '--drain-grace-s=0', '--port', '0', '--shards', '1', '--keys', join(tmp, 'keys'), '--data', join(tmp, 'data')],
                 { stdio: ['ignore', 'pipe', 'inherit'] });
  port = await new Promise<number>((res, rej) => {
    let buf = '';
    const t = setTimeout(() => rej(new Error('server did not start in 30 s')), 30000);
    server!.stdout!.setEncoding('utf8');
    server!.stdout!.on('data', (c: string) => {
      buf += c;
      const m = /listening on \w+:\/\/127\.0\.0\.1:(\d+)/.exec(buf);
      if (m) { clearTimeout(t); res(Number(m[1])); }
    });
    server!.on('exit', () => rej(new Error('server exited')));
  });
  const line = readFileSync(join(tmp, 'keys', 'server_seal.pub'), 'utf8').trim();
  info = parseServerInfo({ version: 't', guests_allowed: true, seal_public_key: line.split(' ')[1] });
});

after(async () => {
  if (server && server.exitCode === null) {
    const gone = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await gone;
  }
  rmSync(tmp, { recursive: true, force: true });
});

// Opens the WebSocket upgrade for `path`; resolves the HTTP status and, on 101, the first
// binary frame (the server's Welcome), read from the raw socket.
function upgrade(path: string): Promise<{ status: number; first?: Uint8Array }> {
  return new Promise((res, rej) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false, headers: {
      Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64') } });
    const timer = setTimeout(() => { req.destroy(); rej(new Error('no answer in 10 s')); }, 10000);
    req.on('response', (r) => { clearTimeout(timer); r.resume(); res({ status: r.statusCode ?? 0 }); });
    req.on('upgrade', (r, socket: Socket, head: Buffer) => {
      let buf = head;
      const tryFrame = () => {
        if (buf.length < 2) return;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        if (buf.length < off + len) return;
        clearTimeout(timer);
        socket.destroy();
        res({ status: r.statusCode ?? 0, first: new Uint8Array(buf.subarray(off, off + len)) });
      };
      socket.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); tryFrame(); });
      tryFrame();
    });
    req.on('error', rej);
    req.end();
  });
}
const pathOf = (url: string) => new URL(url).pathname;

test('a guest payload sealed here is opened by the server', async () => {
  const r = await upgrade(pathOf(connectUrl(info, { name: 'Web Guest' }, `ws://127.0.0.1:${port}`)));
  assert.equal(r.status, 101);
  const w = decodeReply(r.first!);
  assert.equal(w.message.case, 'welcome');
  const u = (w.message.value as { user: { userId: string; username: string; isGuest: boolean } }).user;
  assert.match(u.userId, /^guest:[0-9a-f]{16}$/);
  assert.equal(u.username, 'Web Guest');
  assert.equal(u.isGuest, true);
});

test('a member payload carries the token and its sub as uuid', async () => {
  const minted = JSON.parse(execFileSync(TOKEN, ['--keys', join(tmp, 'keys'), '--user-id', 'u-web-7',
    '--name', 'Member Seven', '--member', '--port', String(port), '--json'], { encoding: 'utf8' }));
  assert.equal(tokenClaims(minted.token).sub, 'u-web-7');
  const r = await upgrade(pathOf(connectUrl(info, { name: '', token: minted.token }, 'ws://x')));
  assert.equal(r.status, 101);
  const w = decodeReply(r.first!);
  const u = (w.message.value as { user: { userId: string; username: string; isMember: boolean } }).user;
  assert.equal(u.userId, 'u-web-7');
  assert.equal(u.username, 'Member Seven');
  assert.equal(u.isMember, true);
});

test('a tampered payload is refused (400) and a replayed one too (409)', async () => {
  const sealed = sealPayload(payloadFor({ name: 'x' }, Date.now()), info.sealPublicKey);
  const flipped = sealed.slice(0, 40) + (sealed[40] === 'A' ? 'B' : 'A') + sealed.slice(41);
  assert.equal((await upgrade(`/api/websocket/${flipped}`)).status, 400);
  assert.equal((await upgrade(`/api/websocket/${sealed}`)).status, 101);
  assert.equal((await upgrade(`/api/websocket/${sealed}`)).status, 409);
});

test('an expired token is refused here, with a reason, before any connect', () => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const token = `${b64({ alg: 'EdDSA' })}.${b64({ sub: 'u-1', exp: 1000 })}.sig`;
  assert.throws(() => payloadFor({ name: '', token }, 1000 * 1000 + 31000), /token: expired/);
  assert.equal(payloadFor({ name: '', token }, 1000 * 1000 + 29000).uuid, 'u-1');
});

test('every attempt gets a fresh socket_id', () => {
  const a = payloadFor({ name: 'x' }, 1), b = payloadFor({ name: 'x' }, 1);
  assert.notEqual(a.socket_id, b.socket_id);
  assert.match(String(a.socket_id), /^[A-Za-z0-9_-]{22}$/);
});

test('server-info and token errors are clear', () => {
  assert.throws(() => parseServerInfo({}), /no sealed-box public key/);
  assert.throws(() => parseServerInfo({ seal_public_key: 'AAAA' }), /3 bytes, expected 32/);
  assert.throws(() => tokenClaims('abc'), /not a JWT/);
  assert.throws(() => tokenClaims('a.!!!.c'), /not base64url JSON/);
  const i = parseServerInfo({ sealPublicKey: info.sealPublicKey && Buffer.from(info.sealPublicKey).toString('base64url'),
                              ws_path: '/ws', guests_allowed: false });
  assert.equal(i.wsPath, '/ws/');
  assert.equal(i.guestsAllowed, false);
});

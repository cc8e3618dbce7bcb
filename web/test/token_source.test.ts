// Where a member page gets fresh tokens: the refresh plan, the allowed-origin setting,
// which parent-frame messages are taken as a token, and the two sources (the site's
// provider function; the parent frame over postMessage) with fake windows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allowedOriginOf, REFRESH_MARGIN_MS, refreshAtMs, TokenSource, tokenFromMessage,
} from '../src/net/token_source.js';

test('refresh plan: a margin before long sessions, half-way through short ones, never for guests', () => {
  const now = 1_000_000;
  assert.equal(refreshAtMs(0, now), null, 'guests (0) never refresh');
  assert.equal(refreshAtMs(-5, now), null);
  assert.equal(refreshAtMs(Number.NaN, now), null);
  assert.equal(refreshAtMs(now + 3_600_000, now), now + 3_600_000 - REFRESH_MARGIN_MS);
  assert.equal(refreshAtMs(now + 40_000, now), now + 20_000);
  assert.equal(refreshAtMs(now - 1, now), now, 'already past: at once');
  // A fresh short token (the server sends its notice at once) does not make a loop:
  // every plan leaves half the remaining time.
  const at = refreshAtMs(now + 2_000, now)!;
  assert.ok(at > now && at < now + 2_000);
});

test('allowed origin: an http(s) origin, nothing else', () => {
  assert.equal(allowedOriginOf('https://site.example/path?q=1'), 'https://site.example');
  assert.equal(allowedOriginOf('http://127.0.0.1:8000'), 'http://127.0.0.1:8000');
  for (const bad of [null, '', '*', 'null', '/relative', 'javascript:alert(1)', 'file:///etc']) {
    assert.equal(allowedOriginOf(bad), null, String(bad));
  }
});

test('a parent answer is taken only from the parent, from the allowed origin, in shape', () => {
  const parent = {};
  const ok = { origin: 'https://site.example', source: parent, data: { type: 'tutti:token', token: 'a.b.c', id: 't1' } };
  assert.equal(tokenFromMessage(ok, 'https://site.example', parent, 't1'), 'a.b.c');
  assert.equal(tokenFromMessage({ ...ok, data: { type: 'tutti:token', token: 'a.b.c' } }, 'https://site.example', parent, 't1'),
               'a.b.c', 'the id may be left out');
  assert.equal(tokenFromMessage({ ...ok, origin: 'https://evil.example' }, 'https://site.example', parent, 't1'), null);
  assert.equal(tokenFromMessage({ ...ok, source: {} }, 'https://site.example', parent, 't1'), null, 'another window');
  assert.equal(tokenFromMessage(ok, 'https://site.example', parent, 't2'), null, 'another request');
  for (const data of [null, 'a.b.c', { type: 'other', token: 'x' }, { type: 'tutti:token' },
                      { type: 'tutti:token', token: '' }, { type: 'tutti:token', token: 7 },
                      { type: 'tutti:token', token: 'x'.repeat(20000) }]) {
    assert.equal(tokenFromMessage({ ...ok, data }, 'https://site.example', parent, 't1'), null, JSON.stringify(data)?.slice(0, 40));
  }
});

// A window with a parent frame: postMessage to the parent is answered by `answer`.
function fakeFramedWindow(answer: (msg: { type: string; id: string }, targetOrigin: string, me: EventTarget) => void) {
  const me = new EventTarget() as EventTarget & { parent: unknown; tuttiTokenProvider?: () => Promise<string> };
  const parent = { postMessage: (msg: { type: string; id: string }, origin: string) => answer(msg, origin, me) };
  me.parent = parent;
  const deliver = (origin: string, source: unknown, data: unknown) => {
    const ev = new Event('message') as Event & { origin: string; source: unknown; data: unknown };
    Object.assign(ev, { origin, source, data });
    queueMicrotask(() => me.dispatchEvent(ev));
  };
  return { win: me as unknown as Window, parent, deliver };
}

test('the site provider function is asked first; its failures are reported', async () => {
  const w = fakeFramedWindow(() => assert.fail('the parent is not asked when a provider exists'));
  const src = new TokenSource(w.win, 'https://site.example');
  let calls = 0;
  (w.win as Window).tuttiTokenProvider = async () => { calls++; return ` tok${calls} `; };
  assert.ok(src.available);
  assert.equal(await src.fetch(), 'tok1');
  assert.equal(await src.fetch(), 'tok2');
  (w.win as Window).tuttiTokenProvider = async () => { throw new Error('signed out'); };
  assert.equal(await src.fetch(), null);
  assert.match(src.error, /signed out/);
  (w.win as Window).tuttiTokenProvider = async () => '';
  assert.equal(await src.fetch(), null);
  assert.match(src.error, /no token/);
  (w.win as Window).tuttiTokenProvider = () => { throw new Error('sync throw'); };
  assert.equal(await src.fetch(), null);
  assert.match(src.error, /sync throw/);
  // A provider that never answers is given up on (a short bound here, 10 s in the page).
  const patient = new TokenSource(w.win, null, 20);
  (w.win as Window).tuttiTokenProvider = () => new Promise<string>(() => {});
  assert.equal(await patient.fetch(), null);
  assert.match(patient.error, /no answer/);
});

test('a parent that never answers is given up on', async () => {
  const w = fakeFramedWindow(() => {});
  const src = new TokenSource(w.win, 'https://site.example', 20);
  assert.equal(await src.fetch(), null);
  assert.match(src.error, /did not answer/);
});

test('the parent frame is asked at the allowed origin; answers from elsewhere are ignored', async () => {
  let asked: { msg: { type: string; id: string }; origin: string } | null = null;
  const holder: { deliver?: (o: string, s: unknown, d: unknown) => void; parent?: unknown } = {};
  const w = fakeFramedWindow((msg, origin) => {
    asked = { msg, origin };
    // A stranger answers first, then another window of the right origin, then the parent.
    holder.deliver!('https://evil.example', holder.parent, { type: 'tutti:token', token: 'evil', id: msg.id });
    holder.deliver!('https://site.example', {}, { type: 'tutti:token', token: 'other-window', id: msg.id });
    holder.deliver!('https://site.example', holder.parent, { type: 'tutti:token', token: 'good', id: msg.id });
  });
  holder.deliver = w.deliver;
  holder.parent = w.parent;
  const src = new TokenSource(w.win, 'https://site.example');
  assert.ok(src.available);
  assert.equal(await src.fetch(), 'good');
  assert.deepEqual(asked!.origin, 'https://site.example');
  assert.equal(asked!.msg.type, 'tutti:token-request');
});

test('no provider and no allowed origin (or no parent): no source', async () => {
  const w = fakeFramedWindow(() => assert.fail('not asked'));
  const src = new TokenSource(w.win, null);
  assert.equal(src.available, false);
  assert.equal(await src.fetch(), null);
  assert.match(src.error, /no token source/);
  const top = new EventTarget() as EventTarget & { parent: unknown };
  top.parent = top;  // a top-level page is its own parent
  assert.equal(new TokenSource(top as unknown as Window, 'https://site.example').available, false);
});

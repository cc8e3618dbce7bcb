#!/usr/bin/env node
// Linked connections in the web client (docs/PROTOCOL.md §16, docs/WEB.md "Two
// connections"), in real Chromium against the built tutti-server. Ann's and Ben's pages
// each reach the server through their own loopback TCP relay, which this test runs and
// which can hold a WebSocket connection's bytes (a stall, as while TCP retransmits a lost
// segment) or cut it. Both pages join a room and open a link (the server attaches it:
// the page's second socket gets the server's LinkStatus and then the room's events, with
// the same positions as on the first). Then:
//   - a note and a chat line from Ann reach Ben exactly once, though each comes to him on
//     two sockets and Ann sent her note on two;
//   - with Ann's first connection stalled, her note still reaches Ben (through her link),
//     and once the stall ends her first connection's copy is not relayed again;
//   - with Ben's first connection stalled, Ann's note still reaches him (through his link),
//     once; with his link stalled, its late copies are dropped;
//   - Ben's link cut (no close frame): his page keeps playing on its first connection,
//     which is never disturbed, and links again after a backoff;
//   - the server closes Ben's link itself (4007: his first connection died half-open, so
//     the session is parked): the page resumes and links again;
//   - a page opened with ?link=off opens one connection only and says so.
// Screenshots of both pages go to --artifacts. Every wait is for a condition with a
// bounded deadline; nothing asserts how long anything took.
//   node link_browser_test.mjs --server PATH [--dist DIR] [--artifacts DIR] [--verbose]
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { CheckFailed, check, main } from './harness.mjs';

const STEP_MS = 20000;  // bounds a hang; nothing asserts how long a step took

// A TCP relay on 127.0.0.1 for one page: its page loads and its WebSockets. Each
// WebSocket connection (an upgrade to /api/websocket/) is kept in `sockets`, in the order
// the page opened them; hold() keeps its bytes, both ways, until release(); cut() destroys
// both sides; cutServerSide() only the server's (the page's side stays open, held: a
// half-open connection).
class Relay {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.sockets = [];
    this.all = new Set();
    this.server = net.createServer((c) => {
      const up = net.connect(this.targetPort, '127.0.0.1');
      const conn = { c, up, held: false, halfOpen: false, toServer: [], toPage: [], ws: false, dead: false };
      this.all.add(conn);
      let first = true;
      const end = () => {
        if (conn.halfOpen) return;
        conn.dead = true;
        c.destroy(); up.destroy(); this.all.delete(conn);
      };
      c.on('error', end); up.on('error', () => { if (!conn.halfOpen) end(); });
      c.on('close', end); up.on('close', () => { if (!conn.halfOpen) end(); });
      c.on('data', (d) => {
        if (first) {
          first = false;
          if (d.toString('latin1', 0, 20).startsWith('GET /api/websocket/')) { conn.ws = true; this.sockets.push(conn); }
        }
        if (conn.held) conn.toServer.push(d); else up.write(d);
      });
      up.on('data', (d) => { if (conn.held) conn.toPage.push(d); else c.write(d); });
    });
  }
  listen() { return new Promise((r) => this.server.listen(0, '127.0.0.1', () => r(this.server.address().port))); }
  live() { return this.sockets.filter((s) => !s.dead); }
  hold(conn) { conn.held = true; }
  release(conn) {
    conn.held = false;
    for (const d of conn.toServer.splice(0)) if (!conn.halfOpen) conn.up.write(d);
    for (const d of conn.toPage.splice(0)) conn.c.write(d);
  }
  cut(conn) { conn.halfOpen = false; conn.dead = true; conn.c.destroy(); conn.up.destroy(); this.all.delete(conn); }
  cutServerSide(conn) { conn.halfOpen = true; conn.held = true; conn.up.destroy(); }
  close() { for (const conn of this.all) this.cut(conn); this.server.close(); }
}

const INIT = () => {
  // A wide playout floor, so a saturated machine cannot make a live note late enough to
  // be dropped (tests never depend on timing).
  window.__TUTTI_TEST__ = { scheduled: [], delayBoundsUs: [600000, 700000] };
};

await main('web-link', async (env) => {
  const args = env.args;
  const shots = args.artifacts ?? join(env.tmp, 'shots');
  mkdirSync(shots, { recursive: true });
  check(await env.detectWebRoot(), 'tutti-server serves the page (--web-root): the relay carries page and sockets alike');
  const port = await env.startServer(0);
  const browser = await env.launch();
  const relays = [];

  const pages = [];
  async function open(label) {
    const relay = new Relay(port);
    relays.push(relay);
    const p = await browser.newPage();
    p.label = label;
    p.relay = relay;
    p.base = `http://127.0.0.1:${await relay.listen()}`;
    p.errors = [];
    await p.addInitScript(INIT);
    p.on('pageerror', (e) => p.errors.push(e.message));
    p.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource|WebSocket connection/.test(m.text())) p.errors.push(m.text());
      env.log(`${label} console: ${m.text()}`);
    });
    pages.push(p);
    return p;
  }
  const wait = (p, fn, arg, what) => p.waitForFunction(fn, arg, { timeout: STEP_MS, polling: 50 }).catch(async (e) => {
    const seen = await p.evaluate(() => ({
      status: document.getElementById('status-text').textContent,
      link: { state: window.tutti?.conn.link.state, detail: window.tutti?.conn.link.detail,
              stats: JSON.stringify(window.tutti?.conn.link.stats, (k, v) => (typeof v === 'bigint' ? String(v) : v)) },
      chat: [...document.querySelectorAll('#chat-log li')].slice(-4).map((l) => l.textContent),
    })).catch(() => ({}));
    throw new CheckFailed(`${p.label}: timed out waiting for ${what} (${e.message.split('\n')[0]}); page shows ${JSON.stringify(seen)}`);
  });
  const shot = async (p, name) => {
    await p.bringToFront();  // a background tab's once-a-second panel update may lag
    await wait(p, () => !document.getElementById('quality').hidden && /^[12] path/.test(document.getElementById('q-link').textContent), null, 'the quality panel');
    await p.screenshot({ path: join(shots, name) });
    env.log(`screenshot ${name}`);
  };
  const linked = (p) => wait(p, () => window.tutti.conn.link.state === 'attached', null, 'its link attached');
  // The remote note-ons of `note` the page's engine scheduled.
  const heard = (p, note) => p.evaluate((n) => window.__TUTTI_TEST__.scheduled
    .filter((s) => s.kind === 'on' && s.note === n && !s.source.startsWith('local')).length, note);
  const heardWhat = (p, note) => p.evaluate((n) => JSON.stringify(window.__TUTTI_TEST__.scheduled
    .filter((s) => s.note === n && !s.source.startsWith('local'))), note);
  const lines = (p, text) => p.evaluate((t) => [...document.querySelectorAll('#chat-log li')]
    .filter((l) => l.textContent.endsWith(`:${t}`)).length, text);
  // Ann says `text`; waits until Ben shows it and both of Ben's sockets are past it (each
  // delivers in order: whatever Ann did before it has come on both by then).
  async function marker(text, { linkToo = true } = {}) {
    await a.fill('#chat-input', text);
    await a.press('#chat-input', 'Enter');
    await wait(b, (t) => document.getElementById('chat-log').textContent.includes(t), text, `"${text}" at Ben`);
    const at = await b.evaluate(() => String(window.tutti.conn.resume.offset));
    await wait(b, ([o, both]) => window.tutti.conn.lastStreamOffset >= BigInt(o) &&
      (!both || window.tutti.conn.link.stats.lastOffset >= BigInt(o)), [at, linkToo], `both of Ben's sockets past "${text}"`);
  }
  async function play(p, note) {
    await p.evaluate((n) => { window.tutti.play(new Uint8Array([0x90, n, 100])); window.tutti.play(new Uint8Array([0x80, n, 0])); }, note);
  }

  // --- two pages, each linked --------------------------------------------------------------
  const a = await open('ann');
  await a.goto(`${a.base}/#room=Links`);
  await wait(a, () => document.getElementById('server-line').textContent.includes('guests'), null, 'server info');
  await a.fill('#name', 'Ann');
  await a.click('#connect');
  await wait(a, () => !document.getElementById('screen-room').hidden, null, 'Ann in the room');
  const b = await open('ben');
  await b.goto(`${b.base}/#room=Links`);
  await wait(b, () => document.getElementById('server-line').textContent.includes('guests'), null, 'server info');
  await b.fill('#name', 'Ben');
  await b.click('#connect');
  await wait(b, () => !document.getElementById('screen-room').hidden, null, 'Ben in the room');
  for (const p of [a, b]) {
    await linked(p);
    // The server's own word: the second socket's first message was its LinkStatus.
    check(p.relay.live().length === 2, `${p.label}: two WebSocket connections (${p.relay.live().length})`);
    await wait(p, () => /^2 paths/.test(document.getElementById('q-link').textContent), null, 'the indicator saying two paths');
  }
  console.log('web-link: ok - both pages open a second connection, which the server attaches');

  // --- each event once, though it comes twice --------------------------------------------
  await play(a, 60);
  await wait(b, () => window.__TUTTI_TEST__.scheduled.some((s) => s.kind === 'on' && s.note === 60 && !s.source.startsWith('local')), null, 'Ben hears C4');
  await marker('one');
  check(await heard(b, 60) === 1, `Ben heard C4 ${await heard(b, 60)} times`);
  check(await lines(b, 'one') === 1, 'the chat line is shown once');
  const st = await b.evaluate(() => ({ events: window.tutti.conn.link.stats.events, first: window.tutti.conn.link.stats.first }));
  check(st.events >= 2, `Ben's link brought the room's events (${JSON.stringify(st)})`);
  // Ann holds a chord: Ben's keys light in her colour, through two connections each.
  await a.evaluate(() => { for (const n of [48, 52, 55]) window.tutti.play(new Uint8Array([0x90, n, 90])); });
  await wait(b, () => [48, 52, 55].every((n) => window.__TUTTI_TEST__.scheduled.some((s) => s.kind === 'on' && s.note === n && s.velocity === 90)), null, 'Ben hears the chord');
  await shot(a, 'link-1-ann.png');
  await shot(b, 'link-1-ben.png');
  await a.evaluate(() => { for (const n of [48, 52, 55]) window.tutti.play(new Uint8Array([0x80, n, 0])); });
  console.log(`web-link: ok - a note and a line from Ann reach Ben once, over two sockets (his link brought ${st.events}, ${st.first} first)`);

  // --- Ann's first connection stalls: her note goes through her link ------------------------
  const [annPrimary] = a.relay.live();
  a.relay.hold(annPrimary);
  await play(a, 62);
  await wait(b, () => window.__TUTTI_TEST__.scheduled.some((s) => s.kind === 'on' && s.note === 62), null, 'Ben hears D4 while Ann\'s first connection is stalled');
  a.relay.release(annPrimary);
  await marker('two');  // chat goes on the first connection only: after the note's copy there
  check(await heard(b, 62) === 1, `Ben heard D4 ${await heard(b, 62)} times: the server took Ann's copies once`);
  console.log('web-link: ok - Ann\'s stalled connection does not stall her note');

  // --- Ben's first connection stalls: the note comes through his link -----------------------
  const [benPrimary] = b.relay.live();
  b.relay.hold(benPrimary);
  await play(a, 64);
  await wait(b, () => window.__TUTTI_TEST__.scheduled.some((s) => s.kind === 'on' && s.note === 64), null, 'Ben hears E4 while his first connection is stalled');
  check(await b.evaluate(() => window.tutti.conn.state) === 'open', 'Ben\'s page still on its first connection');
  b.relay.release(benPrimary);
  await marker('three');
  check(await heard(b, 64) === 1, `Ben heard E4 ${await heard(b, 64)} times: ${await heardWhat(b, 64)}`);
  console.log('web-link: ok - Ben\'s stalled connection does not stall what he hears');

  // --- Ben's link stalls: the first connection brings it all, the link's late copies go ------
  const benLink = b.relay.live()[1];
  b.relay.hold(benLink);
  await play(a, 66);
  await marker('three and a half', { linkToo: false });
  check(await heard(b, 66) === 1, `Ben heard F#4 ${await heard(b, 66)} times with his link stalled`);
  b.relay.release(benLink);
  await marker('three and three quarters');
  check(await heard(b, 66) === 1, `Ben heard F#4 ${await heard(b, 66)} times once his link's copies came`);
  check(await lines(b, 'three and a half') === 1, 'the line shown once after the link\'s copy came');
  console.log('web-link: ok - a stalled link\'s late copies are dropped');

  // --- Ben's link is cut: nothing else is touched, and it comes back ------------------------
  const retriesBefore = await b.evaluate(() => window.tutti.conn.retries.length);
  b.relay.cut(b.relay.live()[1]);
  await wait(b, () => window.tutti.conn.link.state !== 'attached', null, 'Ben\'s page noticing its link gone');
  await play(a, 65);
  await marker('four', { linkToo: false });
  check(await heard(b, 65) === 1, `Ben heard F4 ${await heard(b, 65)} times with his link down`);
  await wait(b, () => window.tutti.conn.link.stats.attached >= 2 && window.tutti.conn.link.state === 'attached', null, 'Ben linked again');
  check(await b.evaluate(() => window.tutti.conn.retries.length) === retriesBefore, 'Ben\'s first connection was never retried');
  check(!(await b.textContent('#chat-log')).includes('Connection lost'), 'Ben\'s page never lost its connection');
  check(b.relay.live().length === 2, `Ben: two WebSocket connections again (${b.relay.live().length})`);
  await play(a, 67);
  await marker('five');
  check(await heard(b, 67) === 1, `Ben heard G4 ${await heard(b, 67)} times on the new link`);
  console.log('web-link: ok - a cut link leaves the first connection alone and links again');

  // --- the server closes the link (4007): the page resumes and links again -----------------
  const attachedBefore = await b.evaluate(() => window.tutti.conn.link.stats.attached);
  const primary = b.relay.live()[0];
  b.relay.cutServerSide(primary);  // the server sees the first connection drop; the page does not
  await wait(b, () => window.tutti.conn.link.stats.closes.includes(4007), null, 'the server closing Ben\'s link with 4007');
  b.relay.cut(primary);  // now the page notices, and resumes
  await wait(b, (n) => window.tutti.conn.link.stats.attached > n && window.tutti.conn.link.state === 'attached', attachedBefore, 'Ben resumed and linked again');
  check(await b.evaluate(() => window.tutti.conn.resume.lastOutcome) === 1, 'Ben\'s session was resumed (RESUME_RECOVERED)');
  await play(a, 69);
  await marker('six');
  check(await heard(b, 69) === 1, `Ben heard A4 ${await heard(b, 69)} times after the resume`);
  for (const t of ['one', 'two', 'three', 'three and a half', 'three and three quarters', 'four', 'five', 'six']) check(await lines(b, t) === 1, `"${t}" shown once at Ben`);
  await shot(a, 'link-2-ann.png');
  await shot(b, 'link-2-ben.png');
  console.log('web-link: ok - the server\'s 4007 close: the page resumes and links again');

  // --- switched off -----------------------------------------------------------------------------
  const c = await open('cy');
  await c.goto(`${c.base}/?link=off#room=Links`);
  await wait(c, () => document.getElementById('server-line').textContent.includes('guests'), null, 'server info');
  await c.fill('#name', 'Cy');
  await c.click('#connect');
  await wait(c, () => !document.getElementById('screen-room').hidden, null, 'Cy in the room');
  await c.fill('#chat-input', 'hello from one path');
  await c.press('#chat-input', 'Enter');
  await wait(c, () => document.getElementById('chat-log').textContent.includes('hello from one path'), null, 'Cy\'s own line back');
  check(await c.evaluate(() => window.tutti.conn.link.state) === 'off', 'Cy\'s link is off');
  check(c.relay.live().length === 1, `Cy: one WebSocket connection (${c.relay.live().length})`);
  check(/^1 path/.test(await c.textContent('#q-link')), 'Cy\'s indicator says one path');
  await play(a, 71);
  await wait(c, () => window.__TUTTI_TEST__.scheduled.some((s) => s.kind === 'on' && s.note === 71), null, 'Cy hears B4');
  console.log('web-link: ok - ?link=off keeps one connection');

  for (const p of pages) check(p.errors.length === 0, `${p.label}: page errors ${JSON.stringify(p.errors)}`);
  for (const r of relays) r.close();
  console.log(`web-link: screenshots in ${shots}`);
}, 170000);

#!/usr/bin/env node
// Session resume in the web client (docs/PROTOCOL.md §12, docs/WEB.md), in real Chromium
// against the built tutti-server. Ann's page reaches the server through a loopback TCP
// relay this test runs; Ben's page connects directly. The relay cuts Ann's connection
// (both TCP sockets destroyed: no close frame either way, as when Wi-Fi drops) and refuses
// her new connections while Ben chats and plays. Then it lets her through:
//   - Ann's page showed its own "reconnecting" banner, kept the room on screen, and comes
//     back in the same room by resuming: the missed chat lines are shown exactly once, the
//     missed note-on is not played late, and chat and MIDI flow both ways afterwards;
//   - Ben's page showed Ann greyed "reconnecting" in the member list and then back, and
//     never a leave or a join of hers (nor a second Ann).
// Then a server admin (a third page) starts a short drain: Ann's page shows the notice
// as a banner with the time left; after the server's 1001 close it waits at least the
// close's reconnect hint before retrying, and once the admin ends maintenance mode it
// is back in the room (the drain ended the session, so the resume is refused and the
// page joins afresh).
// Last, a third page in the lobby asks to join a room while its resume's answer is held
// back by the relay: the request waits for the answer and goes out once.
// Screenshots of both states go to --artifacts. Every wait is for a condition with a
// bounded deadline; nothing asserts how long anything took.
//   node resume_browser_test.mjs --server PATH --token PATH [--dist DIR] [--artifacts DIR] [--verbose]
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { CheckFailed, check, main, until } from './harness.mjs';

const STEP_MS = 20000;  // bounds a hang; nothing asserts how long a step took

// A TCP relay on 127.0.0.1: every connection is piped to the server. cut() destroys the
// open ones; while blocked, new ones are destroyed as they arrive (a page retrying sees
// its attempts fail, as when the network is still down). With holdAfterWelcome set, the
// next WebSocket connection gets the server's first frame (the Welcome) and nothing more
// until release(): the window between a resume's Welcome and its ResumeResult, held open.
class Relay {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.pairs = new Set();
    this.blocked = false;
    this.refused = 0;
    this.holdAfterWelcome = false;
    this.held = null;  // { c, chunks } of the connection being held
    this.server = net.createServer((c) => {
      if (this.blocked) { this.refused++; c.destroy(); return; }
      const up = net.connect(this.targetPort, '127.0.0.1');
      const pair = [c, up];
      this.pairs.add(pair);
      const end = () => { c.destroy(); up.destroy(); this.pairs.delete(pair); };
      c.on('error', end); up.on('error', end); c.on('close', end); up.on('close', end);
      c.pipe(up);
      if (!this.holdAfterWelcome) { up.pipe(c); return; }
      let buf = Buffer.alloc(0);
      let passed = false;  // decided: piped through, or holding after the first frame
      up.on('data', (d) => {
        if (passed) { if (this.held?.c === c) this.held.chunks.push(d); else c.write(d); return; }
        buf = Buffer.concat([buf, d]);
        const cut = this.afterFirstFrame(buf);
        if (cut === 0) return;  // need more bytes
        passed = true;
        if (cut < 0 || !this.holdAfterWelcome) { c.write(buf); return; }  // not a WebSocket
        this.holdAfterWelcome = false;
        this.held = { c, chunks: [buf.subarray(cut)] };
        c.write(buf.subarray(0, cut));
      });
    });
  }
  // Where the server's first WebSocket frame ends in `b` (an upgrade answer and then
  // unmasked frames); 0: not all there yet; -1: not an upgrade.
  afterFirstFrame(b) {
    const head = b.indexOf('\r\n\r\n');
    if (head < 0) return 0;
    if (!b.subarray(0, 12).toString().startsWith('HTTP/1.1 101')) return -1;
    const f = head + 4;
    if (b.length < f + 2) return 0;
    const len7 = b[f + 1] & 0x7f;
    const hdr = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
    if (b.length < f + hdr) return 0;
    const len = len7 === 126 ? b.readUInt16BE(f + 2) : len7 === 127 ? Number(b.readBigUInt64BE(f + 2)) : len7;
    return b.length < f + hdr + len ? 0 : f + hdr + len;
  }
  release() {
    const h = this.held;
    this.held = null;
    if (h) for (const d of h.chunks) h.c.write(d);
  }
  listen() { return new Promise((r) => this.server.listen(0, '127.0.0.1', () => r(this.server.address().port))); }
  cut() { for (const [c, up] of this.pairs) { c.destroy(); up.destroy(); } this.pairs.clear(); }
  close() { this.cut(); this.server.close(); }
}

const INIT = () => {
  // A wide playout floor, so a saturated machine cannot make a live note late enough to
  // be dropped (tests never depend on timing).
  window.__TUTTI_TEST__ = { scheduled: [], delayBoundsUs: [600000, 700000] };
};

await main('web-resume', async (env) => {
  const args = env.args;
  const shots = args.artifacts ?? join(env.tmp, 'shots');
  mkdirSync(shots, { recursive: true });
  check(await env.detectWebRoot(), 'tutti-server serves the page (--web-root): the relay carries page and socket alike');
  const port = await env.startServer(0);
  await env.startPageServer();
  const relay = new Relay(port);
  const relayPort = await relay.listen();
  const browser = await env.launch();
  check(args.token, '--token PATH/TO/tutti-token is required');
  const adminToken = JSON.parse(execFileSync(args.token, ['--keys', env.keys, '--user-id', 'u-ops', '--name', 'Ops',
    '--member', '--roles', 'admin', '--port', String(port), '--json'], { encoding: 'utf8' })).token;

  const pages = [];
  async function open(label) {
    const p = await browser.newPage();
    p.label = label;
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
  const wait = (p, fn, arg, what) => p.waitForFunction(fn, arg, { timeout: STEP_MS, polling: 100 }).catch(async (e) => {
    const seen = await p.evaluate(() => ({
      screen: ['connect', 'lobby', 'room'].find((n) => !document.getElementById(`screen-${n}`).hidden),
      status: document.getElementById('status-text').textContent,
      banner: document.getElementById('conn-banner').hidden ? '' : document.getElementById('conn-banner').textContent,
      users: document.getElementById('user-list').textContent,
      chat: [...document.querySelectorAll('#chat-log li')].slice(-6).map((l) => l.textContent),
    })).catch(() => ({}));
    throw new CheckFailed(`${p.label}: timed out waiting for ${what} (${e.message.split('\n')[0]}); page shows ${JSON.stringify(seen)}`);
  });
  const chatLines = (p) => p.evaluate(() => [...document.querySelectorAll('#chat-log li')].map((l) => l.textContent));
  const shot = async (p, name) => { await p.screenshot({ path: join(shots, name) }); env.log(`screenshot ${name}`); };
  const say = async (p, text) => { await p.fill('#chat-input', text); await p.press('#chat-input', 'Enter'); };
  // Ann's entry in a page's member list: [count, reconnecting marks].
  const annEntries = (p) => p.evaluate(() => {
    const lis = [...document.querySelectorAll('#user-list li')].filter((l) => l.textContent.includes('Ann'));
    return [lis.length, lis.filter((l) => l.classList.contains('reconnecting')).length];
  });

  // --- Ann (through the relay) opens the room; Ben (direct) follows the link ------------
  const a = await open('ann');
  await a.goto(`http://127.0.0.1:${relayPort}/#room=Jam`);
  await wait(a, () => document.getElementById('server-line').textContent.includes('guests'), null, 'server info');
  await a.fill('#name', 'Ann');
  await a.click('#connect');
  await wait(a, () => !document.getElementById('screen-room').hidden, null, 'Ann in the room');
  const b = await open('ben');
  await b.goto(env.pageUrl('#room=Jam'));
  await wait(b, () => document.getElementById('server-line').textContent.includes('guests'), null, 'server info');
  await b.fill('#name', 'Ben');
  await b.click('#connect');
  await wait(b, () => !document.getElementById('screen-room').hidden, null, 'Ben in the room');
  await wait(a, () => document.getElementById('user-count').textContent === '(2)', null, 'Ann sees two people');
  await wait(b, () => document.getElementById('user-count').textContent === '(2)', null, 'Ben sees two people');
  await say(b, 'before the cut');
  await wait(a, () => document.getElementById('chat-log').textContent.includes('before the cut'), null, 'the first line');
  const annUser = await a.evaluate(() => window.tutti.me.userId);
  const tokenBefore = await a.evaluate(() => window.tutti.conn.resume.fields()?.resume_token ?? '');
  check(tokenBefore !== '', 'the Welcome handed Ann\'s page a resume token');
  const benChatBefore = (await chatLines(b)).length;

  // --- the cut: Ann's TCP connection is destroyed, and the network stays down ----------
  relay.blocked = true;
  relay.cut();
  await wait(a, () => !document.getElementById('conn-banner').hidden && !window.tutti.conn.isOpen, null, 'Ann\'s reconnecting banner');
  check(!(await a.evaluate(() => document.getElementById('screen-room').hidden)), 'Ann\'s room stays on screen while she is away');
  check((await a.evaluate(() => document.getElementById('conn-banner').textContent)).includes('Jam'), 'the banner names the room');
  await wait(b, () => [...document.querySelectorAll('#user-list li.reconnecting')].some((l) => l.textContent.includes('Ann')),
             null, 'Ben sees Ann reconnecting');
  await shot(a, 'resume-1-ann-reconnecting.png');
  await shot(b, 'resume-2-ben-sees-reconnecting.png');

  // Meanwhile Ben chats and plays a note (on and off).
  await say(b, 'missed one');
  await say(b, 'missed two');
  await wait(b, () => document.getElementById('chat-log').textContent.includes('missed two'), null, 'Ben\'s own lines');
  await b.evaluate(() => { window.tutti.play(new Uint8Array([0x90, 67, 100])); window.tutti.play(new Uint8Array([0x80, 67, 0])); });
  const annHeardBefore = await a.evaluate(() => window.__TUTTI_TEST__.scheduled.filter((s) => s.kind === 'on' && !s.source.startsWith('local')).length);

  // --- the network is back: Ann's page resumes ---------------------------------------
  await wait(a, () => window.tutti.conn.state === 'waiting', null, 'Ann waiting to retry');
  // At least one retry fails while the network is down (the backoff's path, not a lucky
  // first attempt).
  await until(() => relay.refused > 0, 'Ann\'s page retrying while the network is down', STEP_MS);
  relay.blocked = false;
  // "Retry now" whenever the page is waiting (its backoff may have grown meanwhile).
  await wait(a, () => (window.tutti.conn.state === 'waiting' && window.tutti.conn.retryNow(), false)
             || (window.tutti.conn.isOpen && document.getElementById('conn-banner').hidden
             && document.getElementById('chat-log').textContent.includes('missed two')), null, 'Ann resumed with the missed lines');
  const annLines = await chatLines(a);
  for (const l of ['missed one', 'missed two', 'before the cut']) {
    const n = annLines.filter((t) => t.endsWith(l)).length;
    check(n === 1, `Ann's chat shows "${l}" exactly once (${n}): ${JSON.stringify(annLines)}`);
  }
  check(annLines.findIndex((t) => t.endsWith('missed one')) < annLines.findIndex((t) => t.endsWith('missed two')), 'in order');
  check(annLines.some((t) => /Reconnected: back in Jam; \d+ missed events? caught up/.test(t)),
        `Ann's page says it caught up: ${JSON.stringify(annLines.slice(-5))}`);
  check((await a.evaluate(() => window.tutti.me.userId)) === annUser, 'Ann is the same user (a guest keeps her id)');
  check((await a.evaluate(() => window.tutti.conn.resume.lastOutcome)) === 1, 'the answer was RESUME_RECOVERED');
  const tokenAfter = await a.evaluate(() => window.tutti.conn.resume.fields()?.resume_token ?? '');
  check(tokenAfter !== '' && tokenAfter !== tokenBefore, 'the resume handed out a new token, which the page keeps');
  await wait(a, () => document.getElementById('user-count').textContent === '(2)', null, 'Ann sees two people, herself once');
  const annSelf = await annEntries(a);
  check(annSelf[0] === 1 && annSelf[1] === 0, `Ann's own entry once, not reconnecting: ${annSelf}`);
  // The note Ben played while she was away is history: never scheduled late.
  const annHeardAfter = await a.evaluate(() => window.__TUTTI_TEST__.scheduled.filter((s) => s.kind === 'on' && !s.source.startsWith('local')).length);
  check(annHeardAfter === annHeardBefore, `a replayed note-on is not played (${annHeardBefore} -> ${annHeardAfter})`);

  // --- Ben saw reconnecting, then back; never a leave or a join ------------------------
  await wait(b, () => [...document.querySelectorAll('#user-list li')].some((l) => l.textContent.includes('Ann') && !l.classList.contains('reconnecting')),
             null, 'Ben sees Ann back');
  const benEntries = await annEntries(b);
  check(benEntries[0] === 1 && benEntries[1] === 0, `Ben lists Ann once, connected: ${benEntries}`);
  const benLines = (await chatLines(b)).slice(benChatBefore);
  check(!benLines.some((t) => /Ann (joined|left)/.test(t)), `Ben never saw Ann leave or join: ${JSON.stringify(benLines)}`);
  check(benLines.some((t) => t.includes('Ann lost their connection')) && benLines.some((t) => t.includes('Ann is back')),
        `Ben saw Ann reconnecting and back: ${JSON.stringify(benLines)}`);
  await shot(a, 'resume-3-ann-resumed.png');
  await shot(b, 'resume-4-ben-sees-ann-back.png');

  // --- live again both ways -------------------------------------------------------------
  await say(a, 'back again');
  await wait(b, () => document.getElementById('chat-log').textContent.includes('back again'), null, 'Ben gets Ann\'s line');
  await wait(a, () => window.tutti.timing.clock.synced, null, 'Ann\'s clock sync after the resume');
  await b.evaluate(() => { window.tutti.play(new Uint8Array([0x90, 72, 90])); window.tutti.play(new Uint8Array([0x80, 72, 0])); });
  await wait(a, () => window.__TUTTI_TEST__.scheduled.some((s) => s.kind === 'on' && s.note === 72 && !s.source.startsWith('local')),
             null, 'Ann hears Ben\'s live note');

  // --- a second cut, resumed from a position the server cannot replay from -----------
  // The page's stored epoch is made stale (as after a room was recreated): the answer is
  // RESUME_UNRECOVERABLE with a snapshot, and the page rebuilds members and chat from it.
  relay.blocked = true;
  relay.cut();
  await wait(a, () => window.tutti.conn.state === 'waiting' && !document.getElementById('conn-banner').hidden, null, 'Ann dropped again');
  await a.evaluate(() => { window.tutti.conn.resume.epoch = 'stale-epoch'; });
  await wait(b, () => [...document.querySelectorAll('#user-list li.reconnecting')].some((l) => l.textContent.includes('Ann')),
             null, 'Ben sees Ann reconnecting again');
  await say(b, 'missed three');
  await wait(b, () => document.getElementById('chat-log').textContent.includes('missed three'), null, 'Ben\'s third line');
  relay.blocked = false;
  await wait(a, () => (window.tutti.conn.state === 'waiting' && window.tutti.conn.retryNow(), false)
             || (window.tutti.conn.isOpen && !window.tutti.resume.awaiting && document.getElementById('conn-banner').hidden
             && document.getElementById('chat-log').textContent.includes('missed three')), null, 'Ann back from the snapshot');
  check((await a.evaluate(() => window.tutti.conn.resume.lastOutcome)) === 2, 'the answer was RESUME_UNRECOVERABLE');
  const fromSnapshot = await chatLines(a);
  for (const l of ['before the cut', 'missed one', 'missed two', 'back again', 'missed three']) {
    const n = fromSnapshot.filter((t) => t.endsWith(l)).length;
    check(n === 1, `after the snapshot Ann's chat shows "${l}" once (${n}): ${JSON.stringify(fromSnapshot)}`);
  }
  check(fromSnapshot.some((t) => t.includes('the room was reloaded')), 'the page says the room was reloaded');
  await wait(a, () => document.getElementById('user-count').textContent === '(2)', null, 'two people from the snapshot');
  const annSelf2 = await annEntries(a);
  check(annSelf2[0] === 1 && annSelf2[1] === 0, `Ann's own entry once after the snapshot: ${annSelf2}`);
  await wait(b, () => [...document.querySelectorAll('#user-list li')].some((l) => l.textContent.includes('Ann') && !l.classList.contains('reconnecting')),
             null, 'Ben sees Ann back again');
  const benLines2 = (await chatLines(b)).slice(benChatBefore);
  check(!benLines2.some((t) => /Ann (joined|left)/.test(t)), `Ben never saw Ann leave or join: ${JSON.stringify(benLines2)}`);
  await shot(a, 'resume-5-ann-from-snapshot.png');

  // --- a drain: the notice's countdown, the 1001 close's hint, back after maintenance ---
  const ops = await open('ops');
  await ops.goto(env.pageUrl(`#token=${adminToken}`));
  await wait(ops, () => !document.getElementById('screen-lobby').hidden, null, 'Ops in the lobby');
  await ops.evaluate(() => window.tutti.conn.send({ case: 'serverCommand', value: {
    commandType: 16 /* START_DRAIN */, parameters: { seconds: '4', message: 'upgrading the server' } } }, true));
  await wait(a, () => !document.getElementById('server-notice').hidden
             && document.getElementById('server-notice-text').textContent.includes('upgrading the server'), null, 'Ann\'s drain banner');
  const noticeText = await a.evaluate(() => document.getElementById('server-notice-text').textContent);
  // Until the close it counts down (from the notice's seconds_left); after it, it says
  // the page will come back. Which one this look catches depends on the machine's load.
  check(/closes the connection in [1-4] s/.test(noticeText) || /The server closed the connection/.test(noticeText),
        `the banner gives the time left: ${noticeText}`);
  await shot(a, 'resume-6-ann-drain-notice.png');
  await wait(a, () => window.tutti.conn.retries.some((r) => r.why.startsWith('server going away')), null, 'Ann\'s page closed by the drain');
  const planned = (await a.evaluate(() => window.tutti.conn.retries)).find((r) => r.why.startsWith('server going away'));
  check(/reconnect in \d+ s/.test(planned.why) && planned.delayMs >= 5000,
        `after the drain's close the page waits at least the hint (5 s by default): ${JSON.stringify(planned)}`);
  // Maintenance mode keeps Ann out until Ops ends it: her banner says why she is away.
  await wait(a, () => document.getElementById('server-notice-text').textContent.includes('The server closed the connection')
             && document.getElementById('conn-banner').hidden, null, 'Ann\'s drain banner after the close');
  await shot(a, 'resume-7-ann-after-drain-close.png');
  // Staff get in during maintenance mode: Ops comes back and ends it.
  await wait(ops, () => window.tutti.conn.isOpen && window.tutti.conn.retries.length > 0, null, 'Ops back after the drain');
  await ops.evaluate(() => window.tutti.conn.send({ case: 'serverCommand', value: {
    commandType: 17 /* SET_MAINTENANCE */, parameters: { on: 'false' } } }, true));
  await wait(ops, () => document.getElementById('server-notice').hidden, null, 'Ops\' banner gone');
  await wait(a, () => {
    if (window.tutti.conn.state === 'waiting') window.tutti.conn.retryNow();  // see above
    // The room stays on screen while the page waits for the resume's answer: wait for
    // the answer's outcome (the drain ended the session: refused, then a fresh join).
    return window.tutti.conn.isOpen && window.tutti.room?.roomName === 'Jam' && !window.tutti.resume.awaiting
      && document.getElementById('conn-banner').hidden && document.getElementById('server-notice').hidden
      && [...document.querySelectorAll('#chat-log li')].some((l) => l.textContent === 'Reconnected: back in Jam.');
  }, null, 'Ann back in Jam after the drain');
  const drainOutcome = await a.evaluate(() => window.tutti.conn.resume.lastOutcome);
  check(drainOutcome === 3, `the drain ended the session: RESUME_REFUSED (${drainOutcome}): ${JSON.stringify(await chatLines(a))}`);
  // Ben's page was closed by the drain too and comes back on its own backoff; the next
  // part counts on him being in Jam before Cat joins (a join made while he was away shows
  // Cat in his list but never a "Cat joined" line), so wait for him the same way.
  await wait(b, () => {
    if (window.tutti.conn.state === 'waiting') window.tutti.conn.retryNow();
    return window.tutti.conn.isOpen && window.tutti.room?.roomName === 'Jam' && !window.tutti.resume.awaiting
      && [...document.querySelectorAll('#chat-log li')].some((l) => l.textContent === 'Reconnected: back in Jam.');
  }, null, 'Ben back in Jam after the drain');

  // --- a join from the lobby between a resume's Welcome and its answer -----------------
  // Cat waits in the lobby; her connection drops and comes back, and the relay holds
  // everything after the Welcome. She asks to join Jam meanwhile: the page holds the
  // request until the ResumeResult and then sends it once (before the fix it went out at
  // once, and the answer, "nothing restored", made the page join a second time).
  const cat = await open('cat');
  await cat.goto(`http://127.0.0.1:${relayPort}/`);
  await wait(cat, () => document.getElementById('server-line').textContent.includes('guests'), null, 'server info');
  await cat.fill('#name', 'Cat');
  await cat.click('#connect');
  await wait(cat, () => !document.getElementById('screen-lobby').hidden && window.tutti.conn.isOpen, null, 'Cat in the lobby');
  // Every room request the page sends, and whether a resume answer was awaited then.
  await cat.evaluate(() => {
    const conn = window.tutti.conn;
    const send = conn.send.bind(conn);
    window.__roomRequests = [];
    conn.send = (m, withId) => {
      const id = send(m, withId);
      // ServerCommand LINK (18) asks for the page's second connection: not a room request.
      const link = m.case === 'serverCommand' && m.value.commandType === 18;
      if (id && !link && ['joinRoomByName', 'joinNextAvailableLobby', 'createRoomCommand', 'leaveRoom', 'serverCommand'].includes(m.case)) {
        window.__roomRequests.push({ what: m.case, awaiting: window.tutti.resume.awaiting });
      }
      return id;
    };
  });
  relay.blocked = true;
  relay.cut();
  await wait(cat, () => window.tutti.conn.state === 'waiting', null, 'Cat dropped');
  relay.holdAfterWelcome = true;
  relay.blocked = false;
  await wait(cat, () => (window.tutti.conn.state === 'waiting' && window.tutti.conn.retryNow(), false)
             || (window.tutti.conn.isOpen && window.tutti.resume.awaiting), null, 'Cat welcomed, her resume answer held');
  check(relay.held !== null, 'the relay holds what follows Cat\'s Welcome');
  await cat.fill('#join-name', 'Jam');
  await cat.press('#join-name', 'Enter');
  await wait(cat, () => document.getElementById('lobby-note').textContent.includes('Reconnecting'), null, 'Cat\'s request waits');
  check((await cat.evaluate(() => window.__roomRequests.length)) === 0, 'nothing room-related before the answer');
  relay.release();
  await wait(cat, () => window.tutti.room?.roomName === 'Jam' && !window.tutti.resume.awaiting
             && !document.getElementById('screen-room').hidden, null, 'Cat in Jam after the answer');
  await wait(b, () => [...document.querySelectorAll('#chat-log li')].some((l) => l.textContent.endsWith('Cat joined')), null, 'Ben sees Cat join');
  const catRequests = await cat.evaluate(() => window.__roomRequests);
  check(catRequests.length === 1 && catRequests[0].what === 'joinRoomByName' && !catRequests[0].awaiting,
        `Cat's page sent one join, after the answer: ${JSON.stringify(catRequests)}`);
  check((await cat.evaluate(() => window.tutti.conn.resume.lastOutcome)) === 1, 'Cat\'s session was recovered (in no room)');
  const catLines = await chatLines(cat);
  check(!catLines.some((t) => t.includes('not kept')), `Cat's page did not rejoin as after a lost session: ${JSON.stringify(catLines)}`);
  check((await cat.evaluate(() => document.getElementById('lobby-error').textContent)) === '', 'no join error');
  // The page settled: a stray second join would have been answered by now, since Cat's
  // own line follows everything she sent.
  await say(cat, 'cat settled');
  await wait(b, () => document.getElementById('chat-log').textContent.includes('cat settled'), null, 'Ben gets Cat\'s line');
  // Over Ben's whole log (Cat is new to the room): slicing from a count taken earlier would
  // miss everything once the log is at its 300-line cap and drops a line per new one.
  const benCat = (await chatLines(b)).filter((t) => /Cat (joined|left)$/.test(t));
  check(benCat.length === 1, `Ben saw Cat join once and never leave: ${JSON.stringify(benCat)}`);
  check((await cat.evaluate(() => window.__roomRequests.length)) === 1, 'still one room request');
  await shot(cat, 'resume-8-cat-joined-after-the-answer.png');

  for (const p of pages) check(p.errors.length === 0, `${p.label}: page errors: ${p.errors.join(' | ')}`);
  relay.close();
});

#!/usr/bin/env node
// The web client in real Chromium, as two people would use it: tutti-server (the built
// binary, on 127.0.0.1 with a free port) serves the page; Alice (a member, her token in
// the URL fragment as an embedding site hands it over) creates a room through the UI,
// Bob (a guest) follows the room link. Alice plays through the on-screen piano, the
// computer keyboard and an injected Web MIDI input; Bob's page must schedule the same
// notes, in order, with the same velocities. Chat and a private message cross. The
// server is stopped and started again on the same port: both pages come back to the
// room by themselves and play on. Alice's tab closes while she holds a note: nothing is
// left sounding on Bob's side. Screenshots of the main screens go to --artifacts.
//   node browser_test.mjs --server PATH --token PATH [--dist DIR] [--artifacts DIR] [--verbose]
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CheckFailed, check, main, until } from './harness.mjs';

const STEP_MS = 20000;  // bounds a hang; nothing asserts how long a step took

// Runs in each page before its scripts: the test hook the App fills with what the audio
// engine schedules, and a fake Web MIDI input the test plays through.
const INIT = () => {
  // A 600 ms playout floor (the core's ceiling is 700 ms): only a stall of about 750 ms
  // could make a note late enough for the timing core to drop it, so a saturated machine
  // cannot fail the order checks.
  window.__TUTTI_TEST__ = { scheduled: [], delayBoundsUs: [600000, 700000] };
  const input = { id: 'fake-in', name: 'Test Keyboard', type: 'input', state: 'connected',
                  connection: 'open', manufacturer: 'test', onmidimessage: null };
  const sent = [];
  const output = { id: 'fake-out', name: 'Test Synth', type: 'output', state: 'connected',
                   connection: 'open', manufacturer: 'test', send(data) { sent.push([...data]); } };
  window.__fakeMidi = { sent, send(bytes) {
    input.onmidimessage?.({ data: new Uint8Array(bytes), timeStamp: performance.now() });
  } };
  Object.defineProperty(navigator, 'requestMIDIAccess', { configurable: true, value: async () => ({
    inputs: new Map([['fake-in', input]]), outputs: new Map([['fake-out', output]]), sysexEnabled: false,
    onstatechange: null,
  }) });
};

await main('web-browser', async (env) => {
  const args = env.args;
  const shots = args.artifacts ?? join(env.tmp, 'shots');
  mkdirSync(shots, { recursive: true });
  await env.detectWebRoot();
  const port = await env.startServer(0);
  await env.startPageServer();
  env.log(`server on ${port}, page at ${env.pageUrl()} (served by ${env.webRootFlag ? 'tutti-server' : 'the test'})`);
  const browser = await env.launch();

  check(args.token, '--token PATH/TO/tutti-token is required');
  const mintToken = (id, name) => JSON.parse(execFileSync(args.token,
    ['--keys', env.keys, '--user-id', id, '--name', name, '--member', '--port', String(port),
     '--json'], { encoding: 'utf8' })).token;
  const token = mintToken('u-alice', 'Alice');

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
  const wait = (p, fn, arg, what) => p.waitForFunction(fn, arg, { timeout: STEP_MS }).catch(async (e) => {
    // What the page shows, to say why.
    const seen = await p.evaluate(() => ({
      screen: ['connect', 'lobby', 'room'].find((n) => !document.getElementById(`screen-${n}`).hidden),
      status: document.getElementById('status-text').textContent,
      room: document.getElementById('room-title').textContent,
      lobbyError: document.getElementById('lobby-error').textContent,
      chat: [...document.querySelectorAll('#chat-log li')].slice(-4).map((l) => l.textContent),
    })).catch(() => ({}));
    throw new CheckFailed(`${p.label}: timed out waiting for ${what} (${e.message.split('\n')[0]}); ` +
                          `page shows ${JSON.stringify(seen)}`);
  });
  const visible = (p, sel, what) => wait(p, (s) => { const e = document.querySelector(s); return e && !e.closest('[hidden]'); }, sel, what);
  const text = (p, sel) => p.evaluate((s) => document.querySelector(s)?.textContent ?? '', sel);
  const shot = async (p, name) => { await p.screenshot({ path: join(shots, name) }); env.log(`screenshot ${name}`); };

  // --- Alice: connect screen, then her token arrives in the fragment -----------------
  const a = await open('alice');
  await a.goto(env.pageUrl());
  await wait(a, () => /Tutti|guests/.test(document.getElementById('server-line').textContent), null, 'server info');
  await a.fill('#name', 'Alice');
  await shot(a, '1-connect.png');
  await a.goto(env.pageUrl(`#token=${token}`));
  await visible(a, '#screen-lobby', 'the lobby after connecting with a token');
  check(!(await a.evaluate(() => location.hash.includes('token'))), 'the token is taken out of the address bar');
  check((await text(a, '#me-name')) === 'Alice', 'Alice is greeted by the name in her token');

  // Create a room through the form: every RoomSettings field is on it.
  await a.fill('#create-name', 'Jam');
  await a.fill('#create-max', '8');
  await a.fill('#create-welcome', 'Welcome to the jam');
  await a.click('#create-form button[type=submit]');
  await visible(a, '#screen-room', 'Alice in her room');
  check((await text(a, '#room-title')) === 'Jam', 'room title');
  check(await a.evaluate(() => location.hash === '#room=Jam'), 'the address names the room');

  // --- Bob: a guest following the room link ------------------------------------------
  const b = await open('bob');
  await b.goto(env.pageUrl('#room=Jam'));
  await wait(b, () => document.getElementById('server-line').textContent.includes('guests'), null, 'server info');
  await b.fill('#name', 'Bob');
  await b.click('#connect');
  await visible(b, '#screen-room', 'Bob in the room from the link');
  await wait(a, () => document.getElementById('user-count').textContent === '(2)', null, 'Alice sees two people');
  await wait(b, () => document.getElementById('user-count').textContent === '(2)', null, 'Bob sees two people');
  check((await text(b, '#user-list')).includes('owner'), 'Bob sees Alice\'s owner badge');
  check((await text(b, '#chat-log')).includes('Welcome to the jam'), 'the welcome message reaches Bob');
  check((await b.evaluate(() => window.tutti.timing.kind)) === 'midi/ core (WebAssembly)',
        'the page runs midi/\'s timing core compiled to WebAssembly');
  await wait(a, () => window.tutti.timing.clock.synced, null, 'Alice\'s clock sync');
  await wait(b, () => window.tutti.timing.clock.synced, null, 'Bob\'s clock sync');
  // Both screens are in the room: the lobby screenshot comes from a third look below.

  // Bob sends what others play to his MIDI output too.
  await wait(b, () => [...document.querySelectorAll('#midi-out option')].some((o) => o.value === 'fake-out'), null, 'Bob\'s MIDI outputs listed');
  await b.selectOption('#midi-out', 'fake-out');

  // --- Alice plays: on-screen piano, computer keyboard, Web MIDI ---------------------
  const key = await a.$('.key[data-note="60"]');
  await key.scrollIntoViewIfNeeded();
  const box = await key.boundingBox();
  await a.mouse.move(box.x + box.width / 2, box.y + box.height * 0.9);
  await a.mouse.down();
  await wait(b, () => window.__TUTTI_TEST__.scheduled.some((s) => s.kind === 'on' && s.note === 60 && !s.source.startsWith('local')), null, 'Bob hears the on-screen C4');
  await shot(b, '3-room-piano.png');
  await a.mouse.up();
  await a.focus('#piano');
  await a.keyboard.down('z');  // C3 on the lower row
  await a.keyboard.up('z');
  await wait(a, () => document.getElementById('midi-in').value === 'fake-in', null, 'the MIDI input picked');
  await a.evaluate(() => {
    const m = window.__fakeMidi;
    m.send([0xc0, 4]);            // program change
    m.send([0xb0, 64, 127]);      // sustain pedal down
    m.send([0x90, 64, 77]);
    m.send([0x80, 64, 0]);
    m.send([0xe0, 0, 0x50]);      // pitch bend
    m.send([0x90, 67, 33]);
    m.send([0x90, 67, 0]);        // note-on with velocity 0 is a note-off
    m.send([0xb0, 64, 0]);        // pedal up
    m.send([0xf8]);               // MIDI clock: not relayed
  });
  const remote = (p) => p.evaluate(() => window.__TUTTI_TEST__.scheduled.filter((s) => !s.source.startsWith('local')));
  await wait(b, () => window.__TUTTI_TEST__.scheduled.filter((s) => !s.source.startsWith('local') && s.kind === 'pedal').length >= 2, null, 'Bob gets the pedal up');
  const local = await a.evaluate(() => window.__TUTTI_TEST__.scheduled.filter((s) => s.source.startsWith('local')));
  const got = await remote(b);
  const sig = (l) => l.filter((s) => s.kind !== 'releaseAll').map((s) => `${s.kind}:${s.note}:${s.velocity}`);
  const want = ['on:60:V', 'off:60:0', 'on:48:96', 'off:48:0', 'program:4:0', 'pedal:0:127', 'on:64:77',
                'off:64:0', 'bend:0:10240', 'on:67:33', 'off:67:0', 'pedal:0:0'];
  const vel60 = local.find((s) => s.kind === 'on' && s.note === 60).velocity;
  check(vel60 >= 100 && vel60 <= 127, `a press near the front of the key is loud (velocity ${vel60})`);
  const expected = want.map((w) => w.replace('V', String(vel60)));
  check(JSON.stringify(sig(local)) === JSON.stringify(expected), `Alice hears herself: ${sig(local)}`);
  check(JSON.stringify(sig(got)) === JSON.stringify(expected),
        `Bob's engine schedules Alice's notes in order with their velocities:\n  got  ${sig(got)}\n  want ${expected}`);
  for (let i = 1; i < got.length; i++) {
    check(got[i].when >= got[i - 1].when, `Bob's playout times never go backwards (${i})`);
  }
  check(got.every((s) => s.source.startsWith('u-alice#')), 'the notes are Alice\'s');
  const targetMs = await b.evaluate(() => window.tutti.timing.playout.stats().targetMs);
  check(targetMs >= 599, `the test's playout floor is in force (${targetMs} ms)`);
  const outNotes = (await b.evaluate(() => window.__fakeMidi.sent))
    .filter((m) => (m[0] & 0xe0) === 0x80).map((m) => `${m[0].toString(16)}:${m[1]}:${m[2]}`);
  const wantOut = [`90:60:${vel60}`, '80:60:0', '90:48:96', '80:48:0', '90:64:77', '80:64:0', '90:67:33', '90:67:0'];
  check(JSON.stringify(outNotes) === JSON.stringify(wantOut), `Bob's MIDI output plays Alice's notes: ${outNotes}`);
  await wait(b, () => window.tutti.synth.activeVoices() === 0, null, 'nothing left sounding after the phrase');
  // The people list's latency column: beside Alice, Bob sees the delay her notes play at
  // here (the timing core's per-sender target, inside the test's 600..700 ms bounds);
  // beside himself his round trip; Alice sees "—" for Bob, who has not played.
  const latOf = (p, who) => p.evaluate((w) => [...document.querySelectorAll('#user-list li')]
    .find((l) => l.textContent.includes(w))?.querySelector('.lat')?.textContent ?? '', who);
  await wait(b, () => /^\d+ ms$/.test([...document.querySelectorAll('#user-list li')]
    .find((l) => l.textContent.includes('Alice'))?.querySelector('.lat')?.textContent ?? ''), null, 'Bob sees Alice\'s delay');
  const aliceDelay = Number((await latOf(b, 'Alice')).replace(' ms', ''));
  check(aliceDelay >= 599 && aliceDelay <= 700, `Bob's list shows the delay Alice's notes play at (${aliceDelay} ms)`);
  await wait(b, () => /^\d+(\.\d)? ms$/.test(document.querySelector('#user-list li .lat') && [...document.querySelectorAll('#user-list li')]
    .find((l) => l.textContent.includes('(you)'))?.querySelector('.lat')?.textContent), null, 'Bob sees his own round trip');
  check((await latOf(a, 'Bob')) === '—', `Alice sees a dash for Bob, who has not played (${await latOf(a, 'Bob')})`);
  await shot(b, '3b-people-latency.png');
  console.log('web-browser: ok - on-screen piano, keyboard and Web MIDI reach the other page in order');

  // --- chat and a private message ------------------------------------------------------
  await b.fill('#chat-input', 'hi from bob');
  await b.press('#chat-input', 'Enter');
  await wait(a, () => document.getElementById('chat-log').textContent.includes('hi from bob'), null, 'Bob\'s chat at Alice');
  await a.fill('#chat-input', '/w Bob psst, a secret');
  await a.press('#chat-input', 'Enter');
  await wait(b, () => [...document.querySelectorAll('#chat-log .pm')].some((l) => l.textContent.includes('psst, a secret')), null, 'Alice\'s whisper at Bob');
  await wait(a, () => [...document.querySelectorAll('#chat-log .pm')].some((l) => l.textContent.includes('→ Bob')), null, 'the whisper confirmed to Alice');
  await a.fill('#chat-input', '/help');
  await a.press('#chat-input', 'Enter');
  await wait(a, () => [...document.querySelectorAll('#chat-log .cmd')].length >= 2, null, 'help from the page and the server');
  console.log('web-browser: ok - chat, a private message and /help');

  // --- friends: Carol (a member) asks Alice, Alice accepts, Carol sees where she plays --
  check(await b.evaluate(() => !document.getElementById('friends-guest').hidden &&
                               document.getElementById('friend-form').hidden), 'Bob (a guest) is told friends are for members');
  const c = await open('carol');
  await c.goto(env.pageUrl(`#token=${mintToken('u-carol', 'Carol')}`));
  await visible(c, '#screen-lobby', 'Carol in the lobby');
  await visible(c, '#friend-form', 'Carol\'s friends panel');
  await c.fill('#friend-name', 'Alice');
  await c.press('#friend-name', 'Enter');
  await wait(c, () => document.querySelector('#friend-list [data-friend="u-alice"]')?.textContent.includes('request sent'), null, 'Carol\'s request pending');
  await wait(a, () => document.querySelector('#friend-list [data-friend="u-carol"]')?.textContent.includes('wants to be friends'), null, 'Alice sees Carol\'s request');
  await a.click('#friend-list [data-friend="u-carol"] button:text("Accept")');
  await wait(c, () => /online · in jam/.test(document.querySelector('#friend-list [data-friend="u-alice"]')?.textContent ?? ''), null, 'Carol sees Alice online in Jam');
  await shot(c, '2-lobby.png');
  console.log('web-browser: ok - a friend request made, accepted and shown with presence');

  // --- the server restarts: both pages come back by themselves -------------------------
  await env.stopServer();
  await wait(a, () => document.getElementById('status-dot').className.includes('waiting') ||
                      document.getElementById('status-dot').className.includes('connecting'), null, 'Alice sees the drop');
  check((await text(b, '#chat-log')).includes('Connection lost'), 'Bob is told the connection dropped');
  await wait(a, () => !document.getElementById('retry').hidden &&
                      /retrying in \d+ s/.test(document.getElementById('status-text').textContent), null,
             'a Retry now button and the seconds left while the page waits to reconnect');
  const silenced = await b.evaluate(() => window.__fakeMidi.sent.filter((m) => (m[0] & 0xf0) === 0xb0 && m[1] === 123).length);
  check(silenced >= 16, `the drop sends all-notes-off to Bob's MIDI output on every channel (${silenced})`);
  await env.startServer(port);
  await visible(a, '#screen-room', 'Alice back in the room');
  for (const p of [a, b]) {
    await wait(p, () => document.getElementById('status-dot').className === 'dot open' &&
                        document.getElementById('user-count').textContent === '(2)' &&
                        document.getElementById('room-title').textContent === 'Jam', null, 'both back in Jam');
  }
  check((await text(b, '#chat-log')).includes('Reconnected'), 'Bob is told it reconnected');
  for (const p of [a, b]) {
    await wait(p, () => window.tutti.timing.clock.synced && !document.getElementById('quality').hidden &&
                        /RTT \d/.test(document.getElementById('q-rtt').textContent), null, 'clock synced again, shown');
  }
  console.log('web-browser: ok - after a server restart both pages are back in the room');

  // --- after the restart: a two-finger chord on the touch screen -----------------------
  await b.evaluate(() => { window.__TUTTI_TEST__.scheduled.length = 0; });
  await wait(a, () => window.tutti.timing.clock.synced, null, 'Alice\'s clock after the restart');
  const cdp = await a.context().newCDPSession(a);
  await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 });
  const centre = async (n) => { const bb = await (await a.$(`.key[data-note="${n}"]`)).boundingBox();
                                return { x: bb.x + bb.width / 2, y: bb.y + bb.height * 0.85 }; };
  const [t1, t2] = [await centre(62), await centre(65)];
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ ...t1, id: 1 }, { ...t2, id: 2 }] });
  await wait(b, () => ['62', '65'].every((n) => window.__TUTTI_TEST__.scheduled.some((s) => s.kind === 'on' && String(s.note) === n)), null, 'Bob hears both fingers');
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await wait(b, () => window.tutti.synth.activeVoices() === 0, null, 'both fingers lifted');
  const chord = await remote(b);
  check(chord.filter((s) => s.kind === 'on').length === 2 && chord.filter((s) => s.kind === 'off').length === 2,
        `a two-finger chord is two notes on and two off: ${sig(chord)}`);
  await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: false });
  console.log('web-browser: ok - a multi-touch chord');

  // --- Alice holds a chord and closes her tab ------------------------------------------
  await b.evaluate(() => { window.__TUTTI_TEST__.scheduled.length = 0; });
  await a.evaluate(() => { window.__fakeMidi.send([0x90, 72, 90]); window.__fakeMidi.send([0x90, 76, 91]); });
  await wait(b, () => window.tutti.synth.activeVoices() === 2, null, 'Bob hears Alice\'s held chord');
  await wait(b, () => document.querySelectorAll('.key.lit').length === 2, null, 'two keys lit in Alice\'s colour');

  // --- a late joiner: Carol's page sets Alice's program, bend and pedal from the snapshot --
  await a.evaluate(() => { const m = window.__fakeMidi; m.send([0xc0, 4]); m.send([0xe0, 0, 0x50]); m.send([0xb0, 64, 127]); });
  await wait(b, () => window.__TUTTI_TEST__.scheduled.some((s) => s.kind === 'pedal' && s.velocity === 127 && s.source.startsWith('u-alice#')),
             null, 'the server has Alice\'s pedal down');
  await wait(c, () => document.getElementById('status-dot').className === 'dot open' && !document.getElementById('screen-lobby').hidden,
             null, 'Carol back in the lobby after the restart');
  await c.evaluate(() => { window.__TUTTI_TEST__.scheduled.length = 0; });
  await c.fill('#join-name', 'Jam');
  await c.click('#join-form button[type=submit]');
  await visible(c, '#screen-room', 'Carol joins Jam late');
  await wait(c, () => ['program:4:0', 'bend:0:10240', 'pedal:0:127'].every((w) => window.__TUTTI_TEST__.scheduled.some(
    (s) => s.source.startsWith('u-alice#') && `${s.kind}:${s.note}:${s.velocity}` === w)), null,
             'Carol\'s page applies Alice\'s program, bend and sustain from the held-notes snapshot');
  await c.click('#leave');
  await visible(c, '#screen-lobby', 'Carol left Jam');
  await wait(b, () => document.getElementById('user-count').textContent === '(2)', null, 'Carol gone from Bob\'s list');
  console.log('web-browser: ok - a late joiner gets the sender\'s controllers from the snapshot');
  await shot(b, '4-room-chord.png');
  await b.setViewportSize({ width: 390, height: 844 });
  await shot(b, '5-room-phone.png');
  await b.setViewportSize({ width: 1200, height: 860 });
  await a.close();
  await wait(b, () => window.tutti.synth.activeVoices() === 0 && document.querySelectorAll('.key.lit').length === 0,
             null, 'nothing left sounding or lit after Alice\'s tab closed');
  await wait(b, () => document.getElementById('user-count').textContent === '(1)', null, 'Alice gone from the list');
  console.log('web-browser: ok - Alice\'s held chord is released when her tab closes');

  // --- Bob leaves to the lobby: the room list refreshes by itself --------------------
  await b.click('#leave');
  await visible(b, '#screen-lobby', 'Bob in the lobby');
  await visible(c, '#screen-lobby', 'Carol back in the lobby after the restart');
  await c.fill('#create-name', 'Late Night');
  await c.click('#create-form button[type=submit]');
  await visible(c, '#screen-room', 'Carol in her room');
  await wait(b, () => [...document.querySelectorAll('#room-list button')].some((x) => x.dataset.room === 'Late Night'),
             null, 'Carol\'s room appears in Bob\'s list without a click');
  await shot(b, '6-lobby-list.png');
  await b.setViewportSize({ width: 390, height: 844 });
  await shot(b, '7-lobby-phone.png');
  console.log('web-browser: ok - the room list refreshes by itself');

  // --- Carol follows a link to another room while in hers: a switch, not a leave -------
  await b.fill('#create-name', 'Switch Target');
  await b.click('#create-form button[type=submit]');
  await visible(b, '#screen-room', 'Bob in his new room');
  await c.evaluate(() => { location.hash = '#room=Switch Target'; });
  await wait(c, () => document.getElementById('room-title').textContent === 'Switch Target' &&
                      !document.getElementById('screen-room').hidden &&
                      document.getElementById('user-count').textContent === '(2)', null, 'Carol switched rooms');
  check(await c.evaluate(() => window.tutti.wantRoom?.name === 'Switch Target'), 'Carol would rejoin the room she switched to');
  await c.evaluate(() => { location.hash = '#room=Nowhere Yet'; });
  await wait(c, () => document.getElementById('room-title').textContent === 'Nowhere Yet' &&
                      !document.getElementById('screen-room').hidden, null, 'Carol opens a room by its link');
  await wait(b, () => document.getElementById('user-count').textContent === '(1)', null, 'Carol left Bob\'s room');
  console.log('web-browser: ok - a room link from a room switches rooms, or opens a new one');

  // --- the server comes back members-only: the guest is told, the member plays on -------
  await env.stopServer();
  await env.startServer(port, ['--no-guests']);
  await visible(b, '#screen-connect', 'Bob (a guest) back on the connect screen');
  await wait(b, () => /does not allow guests/.test(document.getElementById('connect-error').textContent) &&
                      /members only/.test(document.getElementById('server-line').textContent), null,
             'Bob told the server is members-only');
  await wait(c, () => document.getElementById('status-dot').className === 'dot open' &&
                      document.getElementById('room-title').textContent === 'Nowhere Yet', null, 'Carol (a member) back in her room');
  console.log('web-browser: ok - a members-only server turns the guest away with a reason, the member rejoins');

  for (const p of pages) check(p.errors.length === 0, `${p.label}: page errors ${JSON.stringify(p.errors)}`);
  console.log(`web-browser: screenshots in ${shots}`);
}, 180000);

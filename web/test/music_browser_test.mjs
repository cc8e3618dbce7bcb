#!/usr/bin/env node
// The room's music features in real Chromium against the built tutti-server: Alice (a
// member, the room's owner) and Bob (a guest) in one room. Alice sets the tempo with
// /tempo; both pages show it (Bob's says who set it) and Bob's metronome schedules accented
// and plain clicks into his audio engine. Bob's page reports its link quality in its
// heartbeats: Alice, the owner, sees his grade in the people list; Bob sees nobody's.
// Bob presses Panic: Alice's page is told. Screenshots go to --artifacts.
//   node music_browser_test.mjs --server PATH --token PATH [--dist DIR] [--artifacts DIR] [--verbose]
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CheckFailed, check, main } from './harness.mjs';

const STEP_MS = 20000;  // bounds a hang; nothing asserts how long a step took

await main('web-music', async (env) => {
  const args = env.args;
  const shots = args.artifacts ?? join(env.tmp, 'shots');
  mkdirSync(shots, { recursive: true });
  await env.detectWebRoot();
  const port = await env.startServer(0);
  await env.startPageServer();
  const browser = await env.launch();
  check(args.token, '--token PATH/TO/tutti-token is required');
  const token = JSON.parse(execFileSync(args.token,
    ['--keys', env.keys, '--user-id', 'u-alice', '--name', 'Alice', '--member', '--port', String(port),
     '--json'], { encoding: 'utf8' })).token;

  const pages = [];
  async function open(label) {
    const p = await browser.newPage();
    p.label = label;
    p.errors = [];
    await p.addInitScript(() => { window.__TUTTI_TEST__ = { scheduled: [], delayBoundsUs: [600000, 700000] }; });
    p.on('pageerror', (e) => p.errors.push(e.message));
    p.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource|WebSocket connection/.test(m.text())) p.errors.push(m.text());
      env.log(`${label} console: ${m.text()}`);
    });
    pages.push(p);
    return p;
  }
  const wait = (p, fn, arg, what) => p.waitForFunction(fn, arg, { timeout: STEP_MS }).catch(async (e) => {
    const seen = await p.evaluate(() => ({
      tempo: document.getElementById('tempo-text')?.textContent,
      users: document.getElementById('user-list')?.textContent,
      chat: [...document.querySelectorAll('#chat-log li')].slice(-4).map((l) => l.textContent),
    })).catch(() => ({}));
    throw new CheckFailed(`${p.label}: timed out waiting for ${what} (${e.message.split('\n')[0]}); page shows ${JSON.stringify(seen)}`);
  });
  const shot = async (p, name) => { await p.screenshot({ path: join(shots, name) }); env.log(`screenshot ${name}`); };

  const a = await open('alice');
  await a.goto(env.pageUrl(`#token=${token}`));
  await wait(a, () => !document.getElementById('screen-lobby').hidden, null, 'Alice in the lobby');
  await a.fill('#create-name', 'Beat');
  await a.click('#create-form button[type=submit]');
  await wait(a, () => !document.getElementById('screen-room').hidden, null, 'Alice in her room');
  // A new room's tempo, stopped.
  await wait(a, () => /♩ 120 · 4\/4 · stopped/.test(document.getElementById('tempo-text').textContent), null, 'the default tempo');

  const b = await open('bob');
  await b.goto(env.pageUrl('#room=Beat'));
  await wait(b, () => document.getElementById('server-line').textContent.includes('guests'), null, 'server info');
  await b.fill('#name', 'Bob');
  await b.click('#connect');
  await wait(b, () => !document.getElementById('screen-room').hidden, null, 'Bob in the room');
  await wait(a, () => window.tutti.timing.clock.synced, null, 'Alice\'s clock sync');
  await wait(b, () => window.tutti.timing.clock.synced, null, 'Bob\'s clock sync');

  // --- the shared tempo --------------------------------------------------------------
  await b.click('#metronome-on');  // a user gesture: the audio engine starts
  await a.fill('#chat-input', '/tempo 90 3/4 start');
  await a.press('#chat-input', 'Enter');
  for (const p of [a, b]) {
    await wait(p, () => /♩ 90 · 3\/4 · bar \d+ beat [123]/.test(document.getElementById('tempo-text').textContent), null, 'the running tempo');
  }
  check(/set by Alice/.test(await b.textContent('#tempo-text')), 'Bob sees who set the tempo');
  const grid = await b.evaluate(() => window.tutti.metronome.grid);
  check(grid.bpm === 90 && grid.beatsPerBar === 3 && grid.running, `Bob's grid: ${JSON.stringify(grid)}`);
  await wait(b, () => {
    const clicks = window.__TUTTI_TEST__.scheduled.filter((s) => s.kind === 'click');
    return clicks.some((c) => c.note === 1) && clicks.some((c) => c.note === 0);
  }, null, 'Bob\'s metronome schedules an accented and a plain click');
  check((await a.evaluate(() => window.__TUTTI_TEST__.scheduled.filter((s) => s.kind === 'click').length)) === 0,
        'Alice\'s metronome is off: no clicks');
  console.log('web-music: ok - /tempo reaches both pages; the metronome clicks on Bob\'s');

  // --- link quality: the owner sees Bob's grade; Bob sees none ------------------------
  await wait(a, () => [...document.querySelectorAll('#user-list li')].some((l) => l.textContent.includes('Bob') &&
    l.querySelector('[data-grade]')), null, 'Alice sees Bob\'s link grade');
  const title = await a.evaluate(() => [...document.querySelectorAll('#user-list li')]
    .find((l) => l.textContent.includes('Bob')).querySelector('[data-grade]').title);
  check(/round trip [\d.]+ ms, clock ±[\d.]+ ms, late [\d.]+%, dropped [\d.]+%/.test(title), `the figures behind the grade: ${title}`);
  check((await b.evaluate(() => document.querySelectorAll('#user-list [data-grade]').length)) === 0,
        'Bob (not staff) sees nobody\'s link quality');
  await shot(a, 'music-1-tempo-and-quality.png');
  console.log('web-music: ok - the owner sees a member\'s link grade and figures');

  // --- panic ---------------------------------------------------------------------------
  await b.click('#panic');
  await wait(a, () => document.getElementById('chat-log').textContent.includes('Bob sent all notes off'), null, 'Alice told of Bob\'s panic, by name');
  await a.fill('#chat-input', '/tempo stop');
  await a.press('#chat-input', 'Enter');
  await wait(b, () => /· stopped/.test(document.getElementById('tempo-text').textContent), null, 'the stopped tempo at Bob');
  await shot(b, 'music-2-bob-after-panic.png');
  console.log('web-music: ok - Panic is announced; /tempo stop stops the grid');

  for (const p of pages) check(p.errors.length === 0, `${p.label}: page errors ${JSON.stringify(p.errors)}`);
  console.log(`web-music: screenshots in ${shots}`);
}, 150000);

#!/usr/bin/env node
// Benchmark, not a test (not in ctest): does the page keep up with a busy room? One
// Chromium page (the sender) plays RATE note-ons per second, each with its note-off 80 ms
// later in the same batch, through tutti-server (note quota raised for the run) to a
// second page (the listener). The listener counts the batches it handled, the
// main-thread time its App spent per message (dispatch, playout, audio scheduling, key
// colours; not the protobuf decode) and the long tasks (> 50 ms) the browser saw.
//   node bench_incoming.mjs --server PATH/TO/tutti-server [--dist DIR]
// Environment: RATE (note-ons/s, default 2000), SECONDS (default 10).
import { main } from './harness.mjs';

const RATE = Number(process.env.RATE ?? 2000);
const SECONDS = Number(process.env.SECONDS ?? 10);
const NOTES_PER_BATCH = 10;

await main('bench', async (env) => {
  await env.detectWebRoot();
  await env.startServer(0, ['--notes-per-second', String(RATE * 3), '--note-burst', String(RATE * 3)]);
  await env.startPageServer();
  const ctx = await env.launch();
  const pages = [];
  for (const name of ['Sender', 'Listener']) {
    const p = await ctx.newPage();
    await p.addInitScript(() => {
      window.__longTasks = [];
      new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longTasks.push(e.duration); })
        .observe({ type: 'longtask', buffered: true });
    });
    await p.goto(env.pageUrl('#room=Bench'));
    await p.waitForFunction(() => document.getElementById('server-line').textContent.includes('guests'));
    await p.fill('#name', name);
    await p.click('#connect');
    await p.waitForFunction(() => !document.getElementById('screen-room').hidden, null, { timeout: 20000 });
    pages.push(p);
  }
  const [s, l] = pages;
  await l.waitForFunction(() => document.getElementById('user-count').textContent === '(2)');
  await s.waitForFunction(() => window.tutti.timing.clock.synced, null, { timeout: 20000 });
  await l.evaluate(() => {
    const app = window.tutti;
    const ev = app.conn.events;
    const orig = ev.message;
    window.__bench = { n: 0, ms: 0, max: 0, midi: 0 };
    ev.message = (m, at) => {
      const t0 = performance.now();
      orig(m, at);
      const d = performance.now() - t0;
      const b = window.__bench;
      b.n++; b.ms += d; if (d > b.max) b.max = d;
      if (m.message.case === 'midiMessage') b.midi++;
    };
    window.__longTasks.length = 0;
  });
  // MODE=nokeys / nosynth (diagnosis): take the key colours or the audio engine out.
  await l.evaluate((mode) => {
    const app = window.tutti;
    if (mode === 'nokeys') app.player.onKey = () => {};
    if (mode === 'nosynth') for (const k of ['noteOn', 'noteOff', 'sustain']) app.synth[k] = () => {};
  }, process.env.MODE ?? '');
  const sent = await s.evaluate(async ({ rate, seconds, per }) => {
    const app = window.tutti;
    const batches = Math.round((rate * seconds) / per);
    const start = performance.now();
    let done = 0;
    let note = 36;
    while (done < batches) {
      const due = Math.min(batches, Math.floor(((performance.now() - start) / 1000) * rate / per) + 1);
      for (; done < due; done++) {
        const on = [];
        const events = [];
        for (let i = 0; i < per; i++) {
          note = note >= 96 ? 36 : note + 1;
          on.push(0x90, note, 40 + (i * 7) % 80);
          events.push({ data: new Uint8Array([0x80, note, 0]), delayUs: 80000 });
        }
        const ts = BigInt(Math.round(app.timing.clock.serverFromLocal(performance.now() * 1000)));
        app.conn.send({ case: 'midiMessage', value: { midiData: new Uint8Array(on), timestamp: ts, events } });
      }
      await new Promise((r) => setTimeout(r, 4));
    }
    return { batches, seconds: (performance.now() - start) / 1000 };
  }, { rate: RATE, seconds: SECONDS, per: NOTES_PER_BATCH });
  await l.waitForFunction((n) => window.__bench.midi >= n, sent.batches, { timeout: 60000 }).catch(() => {});
  await new Promise((r) => setTimeout(r, 500));
  const r = await l.evaluate(() => ({ ...window.__bench, longTasks: window.__longTasks.slice(),
                                       voices: window.tutti.synth.activeVoices(),
                                       stats: window.tutti.timing.playout.stats() }));
  console.log(`bench: sent ${sent.batches} batches (${sent.batches * NOTES_PER_BATCH} note-ons, ` +
              `${(sent.batches * NOTES_PER_BATCH / sent.seconds).toFixed(0)}/s) in ${sent.seconds.toFixed(1)} s`);
  console.log(`bench: listener handled ${r.midi} MIDI batches; App cost per message: mean ` +
              `${((r.ms / Math.max(1, r.n)) * 1000).toFixed(0)} us, max ${r.max.toFixed(1)} ms; ` +
              `per note-on ${((r.ms / Math.max(1, r.midi * 10)) * 1000).toFixed(0)} us`);
  console.log(`bench: main-thread share for the App: ${((r.ms / 1000 / sent.seconds) * 100).toFixed(1)}%; ` +
              `long tasks: ${r.longTasks.length}${r.longTasks.length ? ` (max ${Math.max(...r.longTasks).toFixed(0)} ms)` : ''}; ` +
              `late ${r.stats.late}/${r.stats.events} events, dropped ${r.stats.dropped}; voices left ${r.voices}`);
}, 240000);

#!/usr/bin/env node
// The page's audio engine (PianoSynth) rendered in an OfflineAudioContext in Chromium:
// a note produces sound, its release ends it, the sustain pedal holds it past the key-up
// until the pedal lifts, and a release fades rather than jumps (no click). Asserts on
// the rendered samples only.
//   node audio_test.mjs --server PATH/TO/tutti-server [--dist web/dist]
import { check, main } from './harness.mjs';

await main('audio', async (env) => {
  await env.detectWebRoot();
  await env.startServer(0);
  await env.startPageServer();
  const ctx = await env.launch();
  const page = await ctx.newPage();
  await page.goto(env.pageUrl());
  await page.waitForFunction(() => window.tuttiEngine !== undefined, null, { timeout: 15000 });

  const r = await page.evaluate(async () => {
    const RATE = 24000;
    // RMS of 10 ms windows over the whole rendering.
    async function render(script, seconds) {
      const c = new OfflineAudioContext(1, RATE * seconds, RATE);
      const s = new window.tuttiEngine.PianoSynth(c);
      script(s);
      const buf = await c.startRendering();
      const d = buf.getChannelData(0);
      const w = RATE / 100;
      const rms = [];
      for (let i = 0; i + w <= d.length; i += w) {
        let sum = 0;
        for (let j = i; j < i + w; j++) sum += d[j] * d[j];
        rms.push(Math.sqrt(sum / w));
      }
      return rms;
    }
    const plain = await render((s) => { s.noteOn('a', 60, 100, 0.1); s.noteOff('a', 60, 0.6); }, 2);
    const pedal = await render((s) => {
      s.sustain('a', true, 0.05); s.noteOn('a', 60, 100, 0.1); s.noteOff('a', 60, 0.6);
      s.sustain('a', false, 1.5);
    }, 2.5);
    const soft = await render((s) => { s.noteOn('a', 60, 20, 0.1); s.noteOff('a', 60, 0.6); }, 1);
    return { plain, pedal, soft };
  });
  const at = (rms, t0, t1) => rms.slice(Math.round(t0 * 100), Math.round(t1 * 100));
  const max = (a) => Math.max(...a);
  const silent = 1e-4;

  check(max(at(r.plain, 0, 0.09)) < silent, `silence before the note ${at(r.plain, 0, 0.12)}`);
  const during = max(at(r.plain, 0.15, 0.55));
  check(during > 0.01, `the note sounds (rms ${during})`);
  check(max(at(r.plain, 1.1, 2)) < silent, `the release ends it (rms ${max(at(r.plain, 1.1, 2))})`);
  check(max(at(r.soft, 0.15, 0.55)) < during * 0.8, 'a softer velocity is quieter');
  // Held by the pedal well after the key-up, silent after the pedal lifts.
  const held = max(at(r.pedal, 1.0, 1.45));
  check(held > 0.003, `the pedal holds the note after key-up (rms ${held})`);
  check(held > 20 * max(at(r.plain, 1.0, 1.45)) || max(at(r.plain, 1.0, 1.45)) < silent,
        'with the pedal it rings where without it it is gone');
  check(max(at(r.pedal, 2.0, 2.5)) < silent, 'the pedal lifting ends it');
  // No click: across the release no 10 ms window loses more than 70% of the previous.
  const rel = at(r.plain, 0.55, 0.8);
  for (let i = 1; i < rel.length; i++) {
    if (rel[i - 1] > 0.002) check(rel[i] > rel[i - 1] * 0.3, `release fades smoothly (window ${i}: ${rel[i - 1]} -> ${rel[i]})`);
  }
  console.log('audio: ok - sound, release, sustain and a smooth fade in the rendered samples');
});

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

  // The page's player (live AudioContext): a held-notes snapshot releases what its sender
  // no longer lists (and the pedal it no longer holds); a departure releases the rest.
  const p = await page.evaluate(() => {
    const app = window.tutti;
    app.ensureAudio();
    const pl = app.player;
    const syn = app.synth;
    const localUs = () => performance.now() * 1000;
    const server = () => BigInt(Math.round(app.timing.clock.serverFromLocal(localUs())));
    pl.onMidi({ userId: 'u-x', sessionId: 5n, timestamp: server(), events: [],
                midiData: new Uint8Array([0xb0, 64, 127, 0x90, 60, 100, 0x90, 64, 90, 0x91, 67, 80]) }, localUs());
    const before = { active: syn.activeVoices(), pedal: syn.pedalDown('u-x#5/0') };
    // Every field a decoded HeldNotesSnapshot has (protobuf-es fills absent ones with defaults).
    pl.onSnapshot({ userId: 'u-x', sessionId: 5n, serverTime: server(), sustainChannels: 0,
                    sostenutoChannels: 0, softChannels: 0, controllers: [],
                    notes: [{ channel: 0, note: 64, velocity: 90 }, { channel: 1, note: 67, velocity: 80 }] });
    const after = { ch0: syn.soundingNotes('u-x#5/0'), ch1: syn.soundingNotes('u-x#5/1'),
                    pedal: syn.pedalDown('u-x#5/0') };
    pl.removeSender('u-x', 5n);
    return { before, after, gone: syn.activeVoices() };
  });
  check(p.before.active === 3 && p.before.pedal, `three notes and the pedal sound first: ${JSON.stringify(p.before)}`);
  check(JSON.stringify(p.after.ch0) === '[64]' && JSON.stringify(p.after.ch1) === '[67]',
        `the snapshot released the note it no longer lists: ${JSON.stringify(p.after)}`);
  check(!p.after.pedal, 'the snapshot lifted the pedal it no longer lists');
  check(p.gone === 0, `the departure released everything (${p.gone} left)`);
  console.log('audio: ok - snapshots and departures release what their sender no longer holds');

  // Replayed MIDI after a resume (PROTOCOL.md §12): its note-ons are never played, the rest
  // applies at once: the note it released stops, the pedal it pressed is down, then up.
  const rp = await page.evaluate(() => {
    const app = window.tutti;
    const pl = app.player;
    const syn = app.synth;
    const localUs = () => performance.now() * 1000;
    const server = () => BigInt(Math.round(app.timing.clock.serverFromLocal(localUs())));
    pl.onSnapshot({ userId: 'u-y', sessionId: 6n, serverTime: server(), sustainChannels: 0, sostenutoChannels: 0,
                    softChannels: 0, controllers: [], notes: [] });
    pl.onMidi({ userId: 'u-y', sessionId: 6n, timestamp: server(), events: [], sequence: 1n, flags: 0,
                midiData: new Uint8Array([0x90, 60, 100]) }, localUs());
    const sounding = syn.soundingNotes('u-y#6/0');
    const voices = syn.activeVoices();
    pl.onReplayedMidi({ userId: 'u-y', sessionId: 6n, timestamp: 0n, sequence: 2n, flags: 0,
                        midiData: new Uint8Array([0x90, 72, 100, 0x80, 60, 0, 0xb0, 64, 127]),
                        events: [{ delayUs: 5000, data: new Uint8Array([0x90, 74, 90]) }] });
    const replayed = { notes: syn.soundingNotes('u-y#6/0'), pedal: syn.pedalDown('u-y#6/0'), voices: syn.activeVoices() };
    pl.onReplayedMidi({ userId: 'u-y', sessionId: 6n, timestamp: 0n, sequence: 3n, flags: 0, events: [],
                        midiData: new Uint8Array([0xb0, 64, 0]) });
    const lifted = syn.pedalDown('u-y#6/0');
    pl.removeSender('u-y', 6n);
    return { sounding, voices, replayed, lifted };
  });
  check(JSON.stringify(rp.sounding) === '[60]', `the live note sounds first: ${JSON.stringify(rp)}`);
  check(JSON.stringify(rp.replayed.notes) === '[]', `replayed note-ons are not played, its note-off is: ${JSON.stringify(rp)}`);
  check(rp.replayed.voices <= rp.voices, `no voice started by the replay: ${JSON.stringify(rp)}`);
  check(rp.replayed.pedal && !rp.lifted, `replayed pedal changes apply at once: ${JSON.stringify(rp)}`);
  console.log('audio: ok - replayed MIDI: note-ons dropped, the rest applied at once');
});

// The page's metronome arithmetic (web/src/ui/music.ts), the same formula as
// midi/metronome.h and docs/PROTOCOL.md "Shared tempo", and the bounded quality figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { barBeat, beatAt, describe, type Grid, Metronome, qualityFigures, timeOfBeat } from '../src/ui/music.js';

const grid: Grid = { bpm: 90, beatsPerBar: 3, beatUnit: 4, running: true, anchorServerUs: 10_000_000, anchorBeat: 0 };

test('beats follow the anchor on the server clock', () => {
  assert.equal(beatAt(grid, 10_000_000), 0);
  assert.equal(beatAt(grid, 12_000_000), 3);
  assert.equal(beatAt(grid, 9_000_000), -1.5);  // the count-in
  assert.equal(timeOfBeat(grid, 3), 12_000_000);
  assert.equal(beatAt({ ...grid, running: false, anchorBeat: 7.5 }, 99_000_000), 7.5);
  assert.deepEqual(barBeat(grid, 4), { bar: 1, inBar: 1 });
  assert.deepEqual(barBeat(grid, -1), { bar: -1, inBar: 2 });
  assert.equal(describe(grid, 12_100_000), '♩ 90 · 3/4 · bar 2 beat 1');
  assert.equal(describe(grid, 9_000_000), '♩ 90 · 3/4 · count-in 2');
  assert.equal(describe({ ...grid, running: false }, 0), '♩ 90 · 3/4 · stopped');
});

test('the metronome clicks each beat once, accenting the bar', () => {
  let now = 9_900_000;
  const texts: string[] = [];
  const beats: boolean[] = [];
  const m = new Metronome(() => now, (s) => s - 1000, { text: (s) => texts.push(s), beat: (a) => beats.push(a) });
  m.set({ bpm: 90, beatsPerBar: 3, beatUnit: 4, running: true, anchorServerTime: 10_000_000n, anchorBeat: 0,
          changedByUsername: 'Alice' } as never);
  m.on = true;
  const clicks: [number, boolean][] = [];
  const sink = { click: (at: number, accent: boolean) => clicks.push([at, accent]) };
  m.tick(sink, 100_000);  // beat 0 falls within the lookahead
  assert.deepEqual(clicks, [[9_999_000, true]]);
  now = 11_350_000;  // a stalled tab: beat 1 (10.667 s) long past, beat 2 (11.333 s) just due
  m.tick(sink, 0);
  assert.deepEqual(clicks.map((c) => c[1]), [true, false]);  // beat 1 skipped, not played late
  assert.ok(Math.abs(clicks[1][0] - (10_000_000 + 2 * 60e6 / 90 - 1000)) < 1e-3);
  m.tick(sink, 0);  // nothing new
  assert.equal(clicks.length, 2);
  now = 12_000_000;  // beat 3: the next bar
  m.tick(sink, 0);
  assert.deepEqual(beats, [true, false, true]);
  assert.match(texts.at(-1)!, /set by Alice/);
});

test('quality figures are bounded as the server checks them', () => {
  assert.deepEqual(qualityFigures(12_345.6, 800, 200, 3, 1), { rttUs: 12_346, offsetErrorUs: 800, latePercent: 1.5, droppedPercent: 0.5 });
  assert.deepEqual(qualityFigures(Infinity, -5, 0, 0, 0), { rttUs: 60e6, offsetErrorUs: 0, latePercent: 0, droppedPercent: 0 });
  assert.equal(qualityFigures(0, 0, 10, 50, 0).latePercent, 100);
});

// The MIDI parsing and the playout rules the page relies on, whichever timing core is
// behind the seam: per sender play times never go backwards, late note-ons beyond the
// limit are dropped while note-offs always play, and the clock follows the min-RTT
// exchange.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChannelMessages } from '../src/audio/player.js';
import { channelMessages } from '../src/input/webmidi.js';
import { FallbackClock, FallbackPlayout } from '../src/playout/fallback_timing.js';

test('channel messages split without running status; system bytes stop it', () => {
  const ev = parseChannelMessages(new Uint8Array([0x90, 60, 100, 0xc0, 5, 0xe0, 0, 64, 0x80, 60, 0]));
  assert.deepEqual(ev.map((e) => e.status), [0x90, 0xc0, 0xe0, 0x80]);
  assert.equal(ev[1].d1, 5);
  assert.equal(parseChannelMessages(new Uint8Array([0x90, 60])).length, 0);
  const web = channelMessages(new Uint8Array([0xb0, 64, 127]));
  assert.deepEqual(web.map((m) => [...m]), [[0xb0, 64, 127]]);
  assert.equal(channelMessages(new Uint8Array([0xf8])).length, 0);  // clock: not relayed
  assert.equal(channelMessages(new Uint8Array([0xf0, 1, 2, 0xf7])).length, 0);
});

test('the clock keeps the lowest round trip', () => {
  const c = new FallbackClock();
  // offset 1000 us; round trips 10 ms, 2 ms (asymmetric queueing on the slow ones)
  c.onExchange(0, 9000, 9000, 10000);
  c.onExchange(20000, 22000, 22000, 22000);
  c.onExchange(40000, 48000, 48000, 50000);
  c.onExchange(60000, 61000 + 500, 61500, 62000);
  assert.equal(c.synced, true);
  assert.equal(c.rttUs, 2000);
  assert.equal(c.offsetUs, 1000);
  assert.equal(c.localFromServer(c.serverFromLocal(12345)), 12345);
});

test('play times per sender never go backwards; late note-ons drop, note-offs play', () => {
  const c = new FallbackClock();
  for (let i = 0; i < 4; i++) c.onExchange(i * 1000, i * 1000, i * 1000, i * 1000);  // offset 0
  const p = new FallbackPlayout(c);
  const a1 = p.playTime('a', 100000, 0, 110000, 110000, true)!;
  const a2 = p.playTime('a', 100000, 5000, 110000, 110000, false)!;
  assert.ok(a2 >= a1);
  // An older stamp after a newer one: still not before the previous play time.
  const a3 = p.playTime('a', 90000, 0, 111000, 111000, false)!;
  assert.ok(a3 >= a2);
  // A note-on far behind "now" is dropped; a note-off at the same time plays now.
  assert.equal(p.playTime('b', 0, 0, 1000, 1000000, true), null);
  assert.equal(p.playTime('b', 0, 0, 1000, 1000000, false), 1000000);
  assert.ok(p.stats().late >= 2 && p.stats().dropped === 1);
});

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

const on = (n: number, v = 100, delayUs = 0, ch = 0) => ({ status: 0x90 | ch, d1: n, d2: v, delayUs });
const off = (n: number, delayUs = 0, ch = 0) => ({ status: 0x80 | ch, d1: n, d2: 0, delayUs });
const pedal = (down: boolean, delayUs = 0, ch = 0) => ({ status: 0xb0 | ch, d1: 64, d2: down ? 127 : 0, delayUs });
const sig = (evs: { status: number; d1: number; d2: number }[]) =>
  evs.map((e) => `${e.status.toString(16)}:${e.d1}:${e.d2}`).join(' ');
function synced(): FallbackClock {
  const c = new FallbackClock();
  for (let i = 0; i < 4; i++) c.onExchange(i * 1000, i * 1000, i * 1000, i * 1000);  // offset 0
  return c;
}

test('play times per sender never go backwards; late note-ons drop with their note-off', () => {
  const p = new FallbackPlayout(synced());
  const a = p.push('a', 1, 100000, 0, [on(60), off(60, 5000)], 110000);
  assert.equal(a.length, 2);
  assert.ok(a[1].localUs >= a[0].localUs);
  // An older stamp after a newer one: still not before the previous play time.
  const a2 = p.push('a', 2, 90000, 0, [on(62)], 111000);
  assert.ok(a2[0].localUs >= a[1].localUs);
  // A note-on far behind arrival is dropped, and so is the note-off that ends it; a
  // controller at the same time still plays, at once.
  const b = p.push('b', 1, 0, 0, [on(64), pedal(true), off(64, 1000)], 1000000);
  assert.equal(sig(b), 'b0:64:127');
  assert.equal(b[0].localUs, 1000000);
  assert.ok(p.stats().dropped === 1 && p.stats().late >= 3);
});

test('snapshots release what the sender no longer holds, unless stale', () => {
  const p = new FallbackPlayout(synced());
  p.push('a', 1, 0, 0, [pedal(true), on(60), on(64), on(67, 90, 0, 1)], 10000);
  // Stale: the sender's batch 2 came after what snapshot 1 covers.
  p.push('a', 2, 1000, 0, [on(72)], 11000);
  assert.deepEqual(p.snapshot('a', 1, 0, [], 20000), []);
  const rel = p.snapshot('a', 2, 0, [{ channel: 0, note: 64 }, { channel: 1, note: 67 }], 20000);
  assert.equal(sig(rel), '80:60:0 80:72:0 b0:64:0');
  assert.ok(rel.every((e) => e.localUs >= 20000));
  // A departure releases the rest; a drop releases everyone's.
  p.push('b', 1, 0, 0, [on(48, 80, 0, 2), pedal(true, 0, 2)], 30000);
  assert.equal(sig(p.removeSender('a', 40000)), '80:64:0 81:67:0');
  assert.deepEqual(p.removeSender('a', 40000), []);
  assert.equal(sig(p.dropConnection(50000)), '82:48:0 b2:64:0');
  assert.deepEqual(p.dropConnection(50000), []);
});

// The seam over midi/'s timing core in WebAssembly (playout/wasm_timing.ts), run in node
// on the very module the page bundles: the clock follows heartbeat exchanges, batches
// come back with play times in order, and snapshots, departures and drops come back as
// the releases of exactly what is held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWasmTiming } from '../src/playout/wasm_timing.js';

const on = (n: number, v = 100, delayUs = 0, ch = 0) => ({ status: 0x90 | ch, d1: n, d2: v, delayUs });
const off = (n: number, delayUs = 0, ch = 0) => ({ status: 0x80 | ch, d1: n, d2: 0, delayUs });
const pedal = (down: boolean, delayUs = 0, ch = 0) => ({ status: 0xb0 | ch, d1: 64, d2: down ? 127 : 0, delayUs });
const sig = (evs: { status: number; d1: number; d2: number }[]) =>
  evs.map((e) => `${e.status.toString(16)}:${e.d1}:${e.d2}`).join(' ');
const OFFSET = 5_000_000;  // server = local + 5 s

async function synced() {
  const t = await createWasmTiming();
  const base = Math.round(performance.now() * 1000);
  // Exchanges with a 2 ms round trip, symmetric: offset exactly OFFSET.
  for (let i = 0; i < 8; i++) {
    const t1 = base + i * 100_000;
    t.clock.onExchange(t1, t1 + 1000 + OFFSET, t1 + 1000 + OFFSET, t1 + 2000);
  }
  return { t, base };
}

test('the clock locks onto the heartbeat exchanges', async () => {
  const { t, base } = await synced();
  assert.equal(t.clock.synced, true);
  assert.ok(Math.abs(t.clock.offsetUs - OFFSET) < 100, `offset ${t.clock.offsetUs}`);
  assert.ok(Math.abs(t.clock.serverFromLocal(base) - (base + OFFSET)) < 100);
  assert.equal(t.clock.rttUs, 2000);
});

test('a batch comes back in order with play times after its stamp', async () => {
  const { t, base } = await synced();
  const now = base + 1_000_000;
  const out = t.playout.push('u-a#7', 1, now + OFFSET - 1000, 0, [on(60), off(60, 50_000), on(64, 90, 50_000)], now);
  assert.equal(sig(out), '90:60:100 80:60:0 90:64:90');
  assert.ok(out.every((e) => e.sender === 'u-a#7'));
  assert.ok(out[0].localUs >= now - 1000 && out[1].localUs - out[0].localUs >= 49_000);
  assert.ok(out[2].localUs >= out[1].localUs);
});

test('snapshots, departures and drops release exactly what is held', async () => {
  const { t, base } = await synced();
  const now = base + 2_000_000;
  t.playout.push('u-a#7', 1, now + OFFSET, 0, [pedal(true), on(60), on(64), on(67, 90, 0, 1)], now);
  const rel = t.playout.snapshot('u-a#7', 1, 0, [{ channel: 0, note: 64 }, { channel: 1, note: 67 }], now + 10_000);
  assert.equal(sig(rel.filter((e) => (e.status & 0xf0) === 0x80)), '80:60:0');
  assert.ok(rel.some((e) => e.status === 0xb0 && e.d1 === 64 && e.d2 === 0), `pedal released: ${sig(rel)}`);
  t.playout.push('u-b#9', 1, now + OFFSET, 0, [on(48, 80, 0, 2)], now);
  const gone = t.playout.removeSender('u-a#7', now + 20_000);
  assert.deepEqual(gone.filter((e) => (e.status & 0xf0) === 0x80).map((e) => `${e.status & 15}:${e.d1}`).sort(), ['0:64', '1:67']);
  const dropped = t.playout.dropConnection(now + 30_000);
  assert.ok(dropped.some((e) => e.sender === 'u-b#9' && e.status === 0x82 && e.d1 === 48), sig(dropped));
  assert.deepEqual(t.playout.dropConnection(now + 40_000), []);
});

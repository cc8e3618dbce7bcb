// The reconnect schedule: 1 s doubling to a 30 s cap, each delay in [step/2, step].
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKOFF_CAP_MS, backoffDelayMs } from '../src/net/backoff.js';

test('the bounds double from 1 s up to the cap', () => {
  const lows = [0, 1, 2, 3, 4, 5, 6, 10, 50].map((a) => backoffDelayMs(a, () => 0));
  const highs = [0, 1, 2, 3, 4, 5, 6, 10, 50].map((a) => backoffDelayMs(a, () => 1));
  assert.deepEqual(highs, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  assert.deepEqual(lows, [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000]);
});

test('jitter spreads the delays of many clients over the window', () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const ds = Array.from({ length: 1000 }, () => backoffDelayMs(3, rand));
  assert.ok(ds.every((d) => d >= 4000 && d <= 8000));
  assert.ok(new Set(ds).size > 500, 'delays are spread, not all equal');
  const buckets = [0, 0, 0, 0];
  for (const d of ds) buckets[Math.min(3, Math.floor((d - 4000) / 1000))]++;
  assert.ok(buckets.every((b) => b > 150), `every quarter gets a share: ${buckets}`);
});

test('nonsense input stays within bounds', () => {
  assert.equal(backoffDelayMs(-3, () => 1), 1000);
  assert.equal(backoffDelayMs(1e9, () => 2), BACKOFF_CAP_MS);
  assert.equal(backoffDelayMs(2, () => -1), 2000);
});

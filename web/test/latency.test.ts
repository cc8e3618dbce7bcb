// The people list's latency column: formatting, and the once-a-second update that
// rewrites only the cells whose value changed ("—" until known).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyLatency, formatLatency, latencyTexts, UNKNOWN } from '../src/ui/latency.js';

test('latency formats as milliseconds, unknown as a dash', () => {
  assert.equal(formatLatency(null), UNKNOWN);
  assert.equal(formatLatency(undefined), UNKNOWN);
  assert.equal(formatLatency(Number.NaN), UNKNOWN);
  assert.equal(formatLatency(-1), UNKNOWN);
  assert.equal(formatLatency(0), '0.0 ms');
  assert.equal(formatLatency(4_350), '4.3 ms');
  assert.equal(formatLatency(9_990), '10.0 ms');
  assert.equal(formatLatency(42_400), '42 ms');
  assert.equal(formatLatency(500_000), '500 ms');
});

test('you get the round trip, others their playout delay, unknown ones a dash', () => {
  const delays = new Map<string, number>([['bob#2', 61_000]]);
  let rtt: number | null = null;
  const src = { rttUs: () => rtt, delayUs: (s: string) => delays.get(s) ?? null };
  const senders = ['alice#1', 'bob#2', 'carol#3'];
  assert.deepEqual([...latencyTexts(senders, 'alice#1', src)],
    [['alice#1', UNKNOWN], ['bob#2', '61 ms'], ['carol#3', UNKNOWN]]);
  rtt = 2_500;
  delays.set('carol#3', 120_000);
  assert.deepEqual([...latencyTexts(senders, 'alice#1', src)],
    [['alice#1', '2.5 ms'], ['bob#2', '61 ms'], ['carol#3', '120 ms']]);
});

test('an update rewrites only the cells that changed; a missing value shows a dash', () => {
  const cells = ['a#1', 'b#2', 'c#3'].map((sender) => ({ sender, cell: { textContent: UNKNOWN as string | null } }));
  assert.equal(applyLatency(cells, new Map([['a#1', '3.0 ms'], ['b#2', UNKNOWN]])), 1);
  assert.deepEqual(cells.map((c) => c.cell.textContent), ['3.0 ms', UNKNOWN, UNKNOWN]);
  assert.equal(applyLatency(cells, new Map([['a#1', '3.0 ms']])), 0);  // steady: nothing written
  assert.equal(applyLatency(cells, new Map([['a#1', '4.0 ms'], ['c#3', '80 ms']])), 2);
  assert.deepEqual(cells.map((c) => c.cell.textContent), ['4.0 ms', UNKNOWN, '80 ms']);
});

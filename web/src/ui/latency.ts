// The people list's latency column: for each other player the playout delay the timing
// core holds their notes for here (its per-sender delay estimate, as tutti-play shows
// it), and for yourself the round trip to the server from clock sync. Refreshed by the
// App's once-a-second timer, not per note; "—" until the value is known. The text
// logic is pure (unit-tested); updateLatencyCells only touches cells whose text changed.
// Main thread only.
import type { Timing } from '../playout/timing.js';

export const UNKNOWN = '—';

// Microseconds -> "12 ms" (whole milliseconds; below 10 ms one decimal), or "—".
export function formatLatency(us: number | null | undefined): string {
  if (us === null || us === undefined || !Number.isFinite(us) || us < 0) return UNKNOWN;
  const ms = us / 1000;
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export interface LatencySource {
  rttUs(): number | null;                  // own round trip; null before clock sync
  delayUs(sender: string): number | null;  // a sender's playout delay; null before their notes
}

// The live values, read from the timing core when asked.
export function latencyOf(t: Timing): LatencySource {
  return { rttUs: () => (t.clock.synced ? t.clock.rttUs : null), delayUs: (s) => t.playout.senderDelayUs(s) };
}

// The text of each person's cell, keyed as the people list keys them ("user#session").
export function latencyTexts(senders: Iterable<string>, me: string, src: LatencySource): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of senders) out.set(s, formatLatency(s === me ? src.rttUs() : src.delayUs(s)));
  return out;
}

export interface LatencyCell { sender: string; cell: { textContent: string | null } }

// Writes the texts into the cells; returns how many changed (a steady room rewrites nothing).
export function applyLatency(cells: Iterable<LatencyCell>, texts: Map<string, string>): number {
  let changed = 0;
  for (const { sender, cell } of cells) {
    const t = texts.get(sender) ?? UNKNOWN;
    if (cell.textContent !== t) { cell.textContent = t; changed++; }
  }
  return changed;
}

// The people list's cells (room_view.ts renders them as <span class="lat"> in each
// <li data-sender>).
export function updateLatencyCells(list: HTMLElement, me: string, src: LatencySource): number {
  const cells: LatencyCell[] = [];
  for (const li of list.querySelectorAll<HTMLElement>('li[data-sender]')) {
    const cell = li.querySelector<HTMLElement>('.lat');
    if (cell) cells.push({ sender: li.dataset.sender!, cell });
  }
  return applyLatency(cells, latencyTexts(cells.map((c) => c.sender), me, src));
}

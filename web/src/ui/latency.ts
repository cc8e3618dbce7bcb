// The people list's latency column: for each other player the playout delay the timing
// core holds their notes for here (its per-sender delay estimate, as tutti-play shows
// it), and for yourself the round trip to the server from clock sync. Refreshed by the
// App's once-a-second timer, not per note; "—" until the value is known. The text
// logic is pure (unit-tested); updateLatencyCells only touches cells whose text changed.
// Main thread only.
import type { Timing } from '../playout/timing.js';
import type { Connection } from '../net/connection.js';
import { $ } from './dom.js';

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

// The top bar's quality panel: round trip, clock error and late notes, once a second.
export function showQualityPanel(conn: Connection, timing: Timing): void {
  if (conn.state === 'waiting') {
    const left = Math.max(0, Math.ceil((conn.nextRetryAt - Date.now()) / 1000));
    $('status-text').textContent = $('status-text').textContent!.replace(/retrying in \d+ s/, `retrying in ${left} s`);
  }
  const q = $('quality');
  if (!conn.isOpen) { q.hidden = true; return; }
  q.hidden = false;
  const c = timing.clock;
  const st = timing.playout.stats();
  $('q-rtt').textContent = c.synced ? `RTT ${(c.rttUs / 1000).toFixed(1)} ms` : 'RTT syncing…';
  // The offset itself is the distance between two unrelated monotonic clocks (large
  // and meaningless to read); what matters is how well it is known.
  $('q-offset').textContent = c.synced ? `clock ±${(c.errorBoundUs / 1000).toFixed(1)} ms` : 'clock –';
  $('q-offset').title = `clock offset (server − this page): ${(c.offsetUs / 1000).toFixed(1)} ms`;
  $('q-late').textContent = `late ${st.events ? ((100 * st.late) / st.events).toFixed(1) : '0.0'}% · buffer ${st.targetMs.toFixed(0)} ms`;
  q.title = `round trip, clock offset (server − this page), late notes; timing core: ${timing.kind}`;
}

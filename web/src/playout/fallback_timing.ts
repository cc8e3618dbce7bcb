// FallbackTiming: a small TypeScript stand-in for midi/'s timing core, used only until
// the WebAssembly build of ClockSync/DelayEstimator/JitterBuffer (web/src/timing/) is
// wired in behind the same interfaces (timing.ts). It follows TIMING.md in outline:
// min-RTT filter over the last 8 exchanges, ping burst on connect, playout target =
// the fastest recent transit + its spread + a 2 ms margin within [5, 500] ms, late
// note-ons beyond 150 ms dropped with the note-off that ends them, per-sender play
// times that never go backwards, held notes and pedals tracked per sender so
// snapshots, departures and drops release exactly what is held.
import type { ClockSync, InEvent, OutEvent, Playout, PlayoutStats, Timing } from './timing.js';

interface Sample { rtt: number; offset: number; }

export class FallbackClock implements ClockSync {
  private samples: Sample[] = [];
  private best: Sample | null = null;
  private pings = 0;

  onExchange(t1: number, t2: number, t3: number, t4: number): void {
    const rtt = (t4 - t1) - (t3 - t2);
    if (!(rtt >= 0)) return;
    this.samples.push({ rtt, offset: ((t2 - t1) + (t3 - t4)) / 2 });
    if (this.samples.length > 8) this.samples.shift();
    this.best = this.samples.reduce((a, b) => (b.rtt < a.rtt ? b : a));
  }
  get synced(): boolean { return this.samples.length >= 4; }
  get offsetUs(): number { return this.best ? this.best.offset : 0; }
  get rttUs(): number { return this.best ? this.best.rtt : 0; }
  get errorBoundUs(): number { return this.best ? this.best.rtt / 2 + 1000 : 1e6; }
  get skewPpm(): number { return 0; }
  serverFromLocal(localUs: number): number { return localUs + this.offsetUs; }
  localFromServer(serverUs: number): number { return serverUs - this.offsetUs; }
  nextPingDelayMs(): number { return this.pings++ < 8 ? 100 : 500; }
  reset(): void { this.samples = []; this.best = null; this.pings = 0; }
}

const MIN_TARGET_US = 5000;
const MAX_TARGET_US = 500000;
const MARGIN_US = 2000;
const LATE_DROP_US = 150000;

class SenderState {
  transits: number[] = [];
  lastPlay = -Infinity;
  lastSequence = 0;
  held = new Set<number>();     // channel << 7 | note
  dropped = new Set<number>();  // note-ons dropped: their note-off is dropped too
  pedals = 0;                   // bit c = sustain down on channel c
}

export class FallbackPlayout implements Playout {
  private senders = new Map<string, SenderState>();
  private counts = { events: 0, late: 0, dropped: 0, targetUs: MIN_TARGET_US };
  constructor(private clock: ClockSync) {}

  private state(sender: string): SenderState {
    let s = this.senders.get(sender);
    if (!s) { s = new SenderState(); this.senders.set(sender, s); }
    return s;
  }

  private target(s: SenderState): number {
    if (s.transits.length === 0) return MIN_TARGET_US;
    const min = Math.min(...s.transits);
    const max = Math.max(...s.transits);
    const t = Math.max(0, min) + (max - min) + MARGIN_US;
    return Math.min(MAX_TARGET_US, Math.max(MIN_TARGET_US, t));
  }

  // Keeps the sender's held notes and pedals in step with what is played.
  private track(s: SenderState, e: { status: number; d1: number; d2: number }): void {
    const kind = e.status & 0xf0;
    const ch = e.status & 0x0f;
    const key = (ch << 7) | e.d1;
    if (kind === 0x90 && e.d2 > 0) s.held.add(key);
    else if (kind === 0x80 || kind === 0x90) s.held.delete(key);
    else if (kind === 0xb0 && e.d1 === 64) s.pedals = e.d2 >= 64 ? s.pedals | (1 << ch) : s.pedals & ~(1 << ch);
    else if (kind === 0xb0 && (e.d1 === 120 || e.d1 === 123)) {
      for (const k of [...s.held]) if (k >> 7 === ch) s.held.delete(k);
    }
  }

  push(sender: string, sequence: number, stampUs: number, _flags: number, events: InEvent[],
       arrivalLocalUs: number): OutEvent[] {
    const s = this.state(sender);
    if (sequence > s.lastSequence) s.lastSequence = sequence;
    s.transits.push(arrivalLocalUs - this.clock.localFromServer(stampUs));
    if (s.transits.length > 64) s.transits.shift();
    const target = this.target(s);
    this.counts.targetUs = target;
    const out: OutEvent[] = [];
    for (const e of events) {
      this.counts.events++;
      const kind = e.status & 0xf0;
      const key = ((e.status & 0x0f) << 7) | e.d1;
      const isOn = kind === 0x90 && e.d2 > 0;
      let at = this.clock.localFromServer(stampUs + e.delayUs) + target;
      if (at < arrivalLocalUs) {
        this.counts.late++;
        if (isOn && arrivalLocalUs - at > LATE_DROP_US) {
          this.counts.dropped++;
          s.dropped.add(key);
          continue;
        }
        at = arrivalLocalUs;
      }
      if (!isOn && (kind === 0x80 || kind === 0x90) && s.dropped.delete(key)) continue;
      if (at < s.lastPlay) at = s.lastPlay;
      s.lastPlay = at;
      this.track(s, e);
      out.push({ sender, localUs: at, status: e.status, d1: e.d1, d2: e.d2 });
    }
    return out;
  }

  private releases(sender: string, s: SenderState, at: number, keep: Set<number>, keepPedals: number): OutEvent[] {
    const out: OutEvent[] = [];
    for (const k of [...s.held]) {
      if (keep.has(k)) continue;
      s.held.delete(k);
      out.push({ sender, localUs: at, status: 0x80 | (k >> 7), d1: k & 0x7f, d2: 0 });
    }
    for (let ch = 0; ch < 16; ch++) {
      if ((s.pedals & (1 << ch)) && !(keepPedals & (1 << ch))) {
        s.pedals &= ~(1 << ch);
        out.push({ sender, localUs: at, status: 0xb0 | ch, d1: 64, d2: 0 });
      }
    }
    return out;
  }

  snapshot(sender: string, sequence: number, sustainChannels: number,
           notes: { channel: number; note: number }[], nowLocalUs: number): OutEvent[] {
    const s = this.senders.get(sender);
    // Stale: batches after the snapshot may have started what it does not list.
    if (!s || sequence < s.lastSequence) return [];
    const keep = new Set(notes.map((n) => (n.channel << 7) | n.note));
    return this.releases(sender, s, Math.max(nowLocalUs, s.lastPlay), keep, sustainChannels);
  }

  removeSender(sender: string, nowLocalUs: number): OutEvent[] {
    const s = this.senders.get(sender);
    if (!s) return [];
    this.senders.delete(sender);
    return this.releases(sender, s, Math.max(nowLocalUs, s.lastPlay), new Set(), 0);
  }

  dropConnection(nowLocalUs: number): OutEvent[] {
    const out: OutEvent[] = [];
    for (const [sender, s] of this.senders) out.push(...this.releases(sender, s, nowLocalUs, new Set(), 0));
    this.senders.clear();
    return out;
  }

  stats(): PlayoutStats {
    return { events: this.counts.events, late: this.counts.late, dropped: this.counts.dropped,
             targetMs: this.counts.targetUs / 1000 };
  }
}

export function createFallbackTiming(): Timing {
  const clock = new FallbackClock();
  return { clock, playout: new FallbackPlayout(clock), kind: 'fallback (TypeScript)' };
}

// FallbackTiming: a small TypeScript stand-in for midi/'s timing core, used only until
// the WebAssembly build of ClockSync/DelayEstimator/JitterBuffer (web/src/timing/) is
// wired in behind the same interfaces (timing.ts). It follows TIMING.md in outline:
// min-RTT filter over the last 8 exchanges, ping burst on connect, playout target =
// the largest recent transit spread + a 2 ms margin within [5, 500] ms, late note-ons
// beyond 150 ms dropped, per-sender play times that never go backwards.
import type { ClockSync, Playout, PlayoutStats, Timing } from './timing.js';

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
}

export class FallbackPlayout implements Playout {
  private senders = new Map<string, SenderState>();
  private counts = { events: 0, late: 0, dropped: 0, targetUs: MIN_TARGET_US };
  constructor(private clock: ClockSync) {}

  private target(s: SenderState): number {
    if (s.transits.length === 0) return MIN_TARGET_US;
    const min = Math.min(...s.transits);
    const max = Math.max(...s.transits);
    // Transit includes the clock offset error; the spread above the fastest batch is
    // what the buffer has to absorb, on top of the fastest path itself.
    const t = Math.max(0, min) + (max - min) + MARGIN_US;
    return Math.min(MAX_TARGET_US, Math.max(MIN_TARGET_US, t));
  }

  playTime(sender: string, stampUs: number, delayUs: number, arrivalLocalUs: number,
           nowLocalUs: number, isNoteOn: boolean): number | null {
    let s = this.senders.get(sender);
    if (!s) { s = new SenderState(); this.senders.set(sender, s); }
    if (delayUs === 0) {
      s.transits.push(arrivalLocalUs - this.clock.localFromServer(stampUs));
      if (s.transits.length > 64) s.transits.shift();
    }
    const target = this.target(s);
    this.counts.targetUs = target;
    this.counts.events++;
    let at = this.clock.localFromServer(stampUs + delayUs) + target;
    if (at < nowLocalUs) {
      this.counts.late++;
      if (isNoteOn && nowLocalUs - at > LATE_DROP_US) { this.counts.dropped++; return null; }
      at = nowLocalUs;
    }
    if (at < s.lastPlay) at = s.lastPlay;
    s.lastPlay = at;
    return at;
  }
  removeSender(sender: string): void { this.senders.delete(sender); }
  clear(): void { this.senders.clear(); }
  stats(): PlayoutStats {
    return { events: this.counts.events, late: this.counts.late, dropped: this.counts.dropped,
             targetMs: this.counts.targetUs / 1000 };
  }
}

export function createFallbackTiming(): Timing {
  const clock = new FallbackClock();
  return { clock, playout: new FallbackPlayout(clock), kind: 'fallback (TypeScript)' };
}

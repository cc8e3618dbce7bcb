// The timing seam (timing.ts) over midi/'s own timing core compiled to WebAssembly
// (web/src/timing/core.ts): the browser runs the same ClockSync, DelayEstimator and
// JitterBuffer as the native clients. The JitterBuffer is pull-based (events leave it
// when due); the page schedules sound ahead on the audio clock, so after every call that
// can queue events the adapter takes everything queued with its play time and hands it
// to the player at once. Main thread only; one per App.
import { type ClockSync as CoreClock, type JitterBuffer, loadTimingCore, type PlayedEvent } from '../timing/core.js';
import type { ClockSync, InEvent, OutEvent, Playout, PlayoutStats, Timing } from './timing.js';

const nowUs = () => Math.round(performance.now() * 1000);
const ALL = 2 ** 53;  // "everything queued": play times are scheduled ahead, not polled

class WasmClock implements ClockSync {
  constructor(readonly core: CoreClock) {}
  onExchange(t1: number, t2: number, t3: number, t4: number): void {
    this.core.onSample(Math.round(t1), Math.round(t2), Math.round(t3), Math.round(t4));
  }
  get synced(): boolean { return this.core.status(nowUs()).synced; }
  get offsetUs(): number { return this.core.status(nowUs()).offsetUs; }
  get rttUs(): number { return this.core.lastRttUs; }
  get errorBoundUs(): number { return this.core.status(nowUs()).errorBoundUs; }
  get skewPpm(): number { return this.core.status(nowUs()).skewPpm; }
  serverFromLocal(localUs: number): number { return this.core.serverFromLocal(Math.round(localUs)); }
  localFromServer(serverUs: number): number { return this.core.localFromServer(Math.round(serverUs)); }
  // Called right after each heartbeat went out (connection.ts): the core's schedule,
  // bursts after a connect or an anomaly included.
  nextPingDelayMs(): number {
    const now = nowUs();
    this.core.onPingSent(now);
    return Math.max(10, this.core.nextPingDelayUs(now) / 1000);
  }
  reset(): void { this.core.onReconnect(); }
}

class WasmPlayout implements Playout {
  private senders = new Map<bigint, string>();  // session id -> "user#session"
  private counts = { events: 0, late: 0, dropped: 0 };
  private lastSession: bigint | null = null;

  constructor(private jb: JitterBuffer) {}

  private static session(sender: string): bigint {
    return BigInt(sender.slice(sender.lastIndexOf('#') + 1));
  }

  private out(events: PlayedEvent[]): OutEvent[] {
    const res: OutEvent[] = [];
    for (const e of events) {
      if (!e.generated) { this.counts.events++; if (e.late) this.counts.late++; }
      const sender = this.senders.get(e.session) ?? `?#${e.session}`;
      res.push({ sender, localUs: e.localUs, status: e.status, d1: e.data1, d2: e.data2 });
    }
    return res;
  }

  push(sender: string, sequence: number, stampUs: number, flags: number, events: InEvent[],
       arrivalLocalUs: number): OutEvent[] {
    const session = WasmPlayout.session(sender);
    this.senders.set(session, sender);
    this.lastSession = session;
    const r = this.jb.push(session, sequence, Math.round(stampUs), flags,
      events.map((e) => ({ status: e.status, data1: e.d1, data2: e.d2, delayUs: e.delayUs })),
      Math.round(arrivalLocalUs));
    this.counts.dropped += r.dropped;
    return this.out(this.jb.popDue(ALL));
  }

  snapshot(sender: string, sequence: number, sustainChannels: number,
           notes: { channel: number; note: number }[], nowLocalUs: number): OutEvent[] {
    const session = WasmPlayout.session(sender);
    if (!this.senders.has(session)) return [];
    this.jb.applySnapshot(session, sequence, sustainChannels, notes, Math.round(nowLocalUs));
    return this.out(this.jb.popDue(ALL));
  }

  removeSender(sender: string, nowLocalUs: number): OutEvent[] {
    const session = WasmPlayout.session(sender);
    const out = this.out(this.jb.removeSender(session, Math.round(nowLocalUs)));
    this.senders.delete(session);
    return out;
  }

  dropConnection(nowLocalUs: number): OutEvent[] {
    const out = this.out(this.jb.dropConnection(Math.round(nowLocalUs)));
    this.senders.clear();
    return out;
  }

  setDelayBounds(minUs: number, maxUs: number): void { this.jb.setDelayBounds(minUs, maxUs); }

  // The stuck-note watchdog (about once a second).
  tick(nowLocalUs: number): OutEvent[] {
    return this.out(this.jb.tick(Math.round(nowLocalUs)));
  }

  senderDelayUs(sender: string): number | null {
    const session = WasmPlayout.session(sender);
    if (!this.senders.has(session)) return null;
    const st = this.jb.stats(session);
    return st.batches > 0 ? st.targetUs : null;
  }

  stats(): PlayoutStats {
    const target = this.lastSession !== null && this.senders.has(this.lastSession)
      ? this.jb.stats(this.lastSession).targetUs : 0;
    return { ...this.counts, targetMs: target / 1000 };
  }
}

export async function createWasmTiming(): Promise<Timing> {
  const core = await loadTimingCore();
  const clock = core.clockSync();
  return { clock: new WasmClock(clock), playout: new WasmPlayout(core.jitterBuffer(clock)),
           kind: 'midi/ core (WebAssembly)' };
}

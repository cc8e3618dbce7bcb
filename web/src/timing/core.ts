// midi/'s timing core (ClockSync, DelayEstimator inside JitterBuffer) compiled to
// WebAssembly by tools/build_wasm.sh, with typed wrappers over its C API
// (midi/timing_c_api.h). The same C++ as the native clients: no second implementation.
// Times are integer microseconds as numbers ("local" = the page's monotonic clock, e.g.
// Math.round(performance.now() * 1000); "server" = the server's clock, TIMING.md). Session
// ids are the server's uint64 session ids as bigint. Each object owns wasm memory: call
// dispose() when done (a JitterBuffer before the ClockSync it reads).
import createTimingCore from './gen/timing_core.mjs';
import type { TimingCoreModule } from './gen/timing_core.mjs';

let modulePromise: Promise<TimingCoreModule> | null = null;

// Instantiates the module once (it is inlined in the bundle: no extra request).
export async function loadTimingCore(): Promise<TimingCore> {
  modulePromise ??= createTimingCore();
  return new TimingCore(await modulePromise);
}

export interface ClockStatus {
  synced: boolean;
  offsetUs: number;      // server - local, the offset in use
  errorBoundUs: number;  // bound on |offset error|
  skewPpm: number;
}

export interface PlayedEvent {
  session: bigint;
  localUs: number;  // when to play it (pop returns it at or after this time)
  status: number;   // MIDI status byte; data1/data2 follow
  data1: number;
  data2: number;
  flags: number;      // the batch's MidiFlag bits
  late: boolean;      // arrived after its time: play at once
  generated: boolean; // made here: snapshot reconcile, departure, drop, watchdog
  sequence: number;   // the batch it came from (0 if generated)
  index: number;      // position in that batch
}

export interface RelayedEvent {
  status: number;
  data1: number;
  data2: number;
  delayUs: number;  // after the batch's stamp
}

export interface PushResult {
  scheduled: number;
  dropped: number;
  duplicate: boolean;
  gap: boolean;  // batches were missed: ask the server for a state sync
}

export interface SenderStats {
  batches: number; duplicates: number; gaps: number; noteOns: number;
  lateNoteOns: number; droppedNoteOns: number; lateOther: number; boundClamped: number;
  snapshotReleases: number; watchdogReleases: number; stallsDiscarded: number;
  targetUs: number;
  // The playout offset in use and how it moved (midi/playout.h).
  playoutUs: number; playoutMoves: number; playoutRestJumps: number; playoutCatchUps: number;
  playoutStallLifts: number; lateShortened: number;
}

export enum Smoothness { LowLatency = 0, Balanced = 1, Smooth = 2 }

const hi = (s: bigint): number => Number((s >> 32n) & 0xffffffffn);
const lo = (s: bigint): number => Number(s & 0xffffffffn);

export class TimingCore {
  constructor(readonly m: TimingCoreModule) {}
  clockSync(): ClockSync { return new ClockSync(this.m); }
  jitterBuffer(clock: ClockSync): JitterBuffer { return new JitterBuffer(this.m, clock); }
}

export class ClockSync {
  readonly ptr: number;
  constructor(private readonly m: TimingCoreModule) { this.ptr = m._tutti_clock_sync_create(); }
  dispose(): void { this.m._tutti_clock_sync_destroy(this.ptr); }

  // One heartbeat exchange; false if impossible (t4 < t1 or t3 < t2) and ignored.
  onSample(t1: number, t2: number, t3: number, t4: number): boolean {
    return this.m._tutti_clock_sync_on_sample(this.ptr, t1, t2, t3, t4) === 1;
  }
  serverFromLocal(localUs: number): number {
    return this.m._tutti_clock_sync_server_from_local(this.ptr, localUs);
  }
  localFromServer(serverUs: number): number {
    return this.m._tutti_clock_sync_local_from_server(this.ptr, serverUs);
  }
  status(localNow: number): ClockStatus {
    return {
      synced: this.m._tutti_clock_sync_synced(this.ptr, localNow) === 1,
      offsetUs: this.m._tutti_clock_sync_offset_us(this.ptr, localNow),
      errorBoundUs: this.m._tutti_clock_sync_error_bound_us(this.ptr, localNow),
      skewPpm: this.m._tutti_clock_sync_skew_ppm(this.ptr),
    };
  }
  // Round trip of the last accepted exchange (server hold time excluded).
  get lastRttUs(): number { return this.m._tutti_clock_sync_last_rtt_us(this.ptr); }
  // Microseconds from localNow until the next heartbeat is due (0 = now).
  nextPingDelayUs(localNow: number): number {
    return this.m._tutti_clock_sync_next_ping_delay(this.ptr, localNow);
  }
  onPingSent(localNow: number): void { this.m._tutti_clock_sync_on_ping_sent(this.ptr, localNow); }
  onReconnect(): void { this.m._tutti_clock_sync_on_reconnect(this.ptr); }
  get hasEstimate(): boolean { return this.m._tutti_clock_sync_has_estimate(this.ptr) === 1; }
  get locked(): boolean { return this.m._tutti_clock_sync_locked(this.ptr) === 1; }
  // Bumps whenever the offset in use steps.
  get epoch(): number { return this.m._tutti_clock_sync_epoch(this.ptr); }
  get sampleCount(): number { return this.m._tutti_clock_sync_sample_count(this.ptr); }
  get anomalies(): number { return this.m._tutti_clock_sync_anomalies(this.ptr); }
  get pathChanges(): number { return this.m._tutti_clock_sync_path_changes(this.ptr); }
}

export class JitterBuffer {
  readonly ptr: number;
  constructor(private readonly m: TimingCoreModule, clock: ClockSync) {
    this.ptr = m._tutti_jitter_create(clock.ptr);
  }
  dispose(): void { this.m._tutti_jitter_destroy(this.ptr); }

  // A relayed MidiMessage: sender, sequence (0 = none), stamp (server us), flags, events.
  // Events that are not MIDI channel messages are skipped (counted in `invalid`).
  push(session: bigint, sequence: number, stampedUs: number, flags: number,
       events: readonly RelayedEvent[], localNow: number): PushResult & { invalid: number } {
    const m = this.m;
    m._tutti_jitter_batch_begin(this.ptr, hi(session), lo(session), sequence, stampedUs, flags);
    let invalid = 0;
    for (const e of events) {
      if (m._tutti_jitter_batch_add(this.ptr, e.status, e.data1, e.data2, e.delayUs) !== 1) invalid++;
    }
    const scheduled = m._tutti_jitter_batch_push(this.ptr, localNow);
    return {
      scheduled,
      dropped: m._tutti_jitter_last_push_dropped(this.ptr),
      duplicate: m._tutti_jitter_last_push_duplicate(this.ptr) === 1,
      gap: m._tutti_jitter_last_push_gap(this.ptr) === 1,
      invalid,
    };
  }

  // A HeldNotesSnapshot; false if older than what was already received.
  applySnapshot(session: bigint, sequence: number, sustainChannels: number,
                notes: readonly { channel: number; note: number }[], localNow: number): boolean {
    const m = this.m;
    m._tutti_jitter_snapshot_begin(this.ptr, hi(session), lo(session), sequence, sustainChannels);
    for (const n of notes) m._tutti_jitter_snapshot_add_note(this.ptr, n.channel, n.note);
    return m._tutti_jitter_snapshot_apply(this.ptr, localNow) === 1;
  }

  // Everything due at or before localNow, in play order.
  popDue(localNow: number): PlayedEvent[] {
    return this.read(this.m._tutti_jitter_pop_due(this.ptr, localNow));
  }
  // The connection dropped: releases for everything sounding; all senders forgotten.
  dropConnection(localNow: number): PlayedEvent[] {
    return this.read(this.m._tutti_jitter_drop_connection(this.ptr, localNow));
  }
  // One sender left the room.
  removeSender(session: bigint, localNow: number): PlayedEvent[] {
    return this.read(this.m._tutti_jitter_remove_sender(this.ptr, hi(session), lo(session), localNow));
  }
  // The stuck-note watchdog; call about once a second.
  tick(localNow: number): PlayedEvent[] {
    return this.read(this.m._tutti_jitter_tick(this.ptr, localNow));
  }
  // Earliest queued play time, or null when nothing is queued.
  nextDue(): number | null {
    const t = this.m._tutti_jitter_next_due(this.ptr);
    return Number.isNaN(t) ? null : t;
  }

  setDelayBounds(minUs: number, maxUs: number): void {
    this.m._tutti_jitter_set_delay_bounds(this.ptr, minUs, maxUs);
  }
  setSmoothness(s: Smoothness): void { this.m._tutti_jitter_set_smoothness(this.ptr, s); }
  setPercentile(p: number): void { this.m._tutti_jitter_set_percentile(this.ptr, p); }

  stats(session: bigint): SenderStats {
    const st = (k: number) => this.m._tutti_jitter_stat(this.ptr, hi(session), lo(session), k);
    return {
      batches: st(0), duplicates: st(1), gaps: st(2), noteOns: st(3), lateNoteOns: st(4),
      droppedNoteOns: st(5), lateOther: st(6), boundClamped: st(7), snapshotReleases: st(8),
      watchdogReleases: st(9), stallsDiscarded: st(10), targetUs: st(11),
      playoutUs: st(12), playoutMoves: st(13), playoutRestJumps: st(14), playoutCatchUps: st(15),
      playoutStallLifts: st(16), lateShortened: st(17),
    };
  }
  get senderCount(): number { return this.m._tutti_jitter_sender_count(this.ptr); }
  queued(session: bigint): number {
    return this.m._tutti_jitter_queued(this.ptr, hi(session), lo(session));
  }
  // Nothing sounding or queued for anyone.
  get idle(): boolean { return this.m._tutti_jitter_idle(this.ptr) === 1; }

  private read(n: number): PlayedEvent[] {
    const m = this.m;
    const p = this.ptr;
    const out: PlayedEvent[] = new Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = {
        session: (BigInt(m._tutti_jitter_out_session_hi(p, i) >>> 0) << 32n) |
          BigInt(m._tutti_jitter_out_session_lo(p, i) >>> 0),
        localUs: m._tutti_jitter_out_local_us(p, i),
        status: m._tutti_jitter_out_status(p, i) >>> 0,
        data1: m._tutti_jitter_out_data1(p, i) >>> 0,
        data2: m._tutti_jitter_out_data2(p, i) >>> 0,
        flags: m._tutti_jitter_out_flags(p, i) >>> 0,
        late: m._tutti_jitter_out_late(p, i) === 1,
        generated: m._tutti_jitter_out_generated(p, i) === 1,
        sequence: m._tutti_jitter_out_sequence(p, i),
        index: m._tutti_jitter_out_index(p, i) >>> 0,
      };
    }
    return out;
  }
}

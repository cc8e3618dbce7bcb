// The seam between the page and the timing core (docs/TIMING.md): clock sync on the
// heartbeat and a per-sender adaptive playout delay. The page only talks to these two
// interfaces; `createTiming()` picks the implementation. The intended one is midi/'s C++
// core compiled to WebAssembly (web/src/timing/, built by the server side of the
// project); until that is available, `FallbackTiming` (fallback_timing.ts) stands in.
// Times: "local" = performance.now() in microseconds; "server" = the server's clock, us.

export interface ClockSync {
  // One heartbeat exchange (PROTOCOL.md §7), all in microseconds.
  onExchange(t1: number, t2: number, t3: number, t4: number): void;
  readonly synced: boolean;
  readonly offsetUs: number;      // server = local + offset
  readonly rttUs: number;         // lowest recent round trip
  readonly errorBoundUs: number;
  readonly skewPpm: number;
  serverFromLocal(localUs: number): number;
  localFromServer(serverUs: number): number;
  // Milliseconds until the next heartbeat should go out (bursts on connect).
  nextPingDelayMs(): number;
  reset(): void;  // a new connection: start a burst again
}

export interface PlayoutStats {
  events: number;
  late: number;  // played later than their slot
  dropped: number;
  targetMs: number;
}

export interface Playout {
  // A batch from `sender` stamped `stampUs` (server time) arrived at `arrivalLocalUs`;
  // returns the local time to play an event at `stampUs + delayUs`, never earlier than
  // `nowLocalUs`, never before the same sender's previous event; null = drop it
  // (a note-on too late to be musical).
  playTime(sender: string, stampUs: number, delayUs: number, arrivalLocalUs: number,
           nowLocalUs: number, isNoteOn: boolean): number | null;
  removeSender(sender: string): void;
  clear(): void;
  stats(): PlayoutStats;
}

export interface Timing {
  clock: ClockSync;
  playout: Playout;
  kind: string;  // shown in the quality panel: which core is in use
}

// The room's music features on the page (docs/PROTOCOL.md, "Music in a room"): the shared
// tempo's metronome (a beat display, and clicks in the audio engine when switched on),
// panic notices, and the link-quality figures this page reports in its heartbeats. The
// beat arithmetic is pure (unit-tested) and is the same formula as midi/metronome.h.
// Main thread only; one per App.
import type { TempoState } from '../gen/tutti_pb.js';
import type { PianoSynth } from '../audio/piano.js';
import { type Connection, nowLocalUs } from '../net/connection.js';
import type { Timing } from '../playout/timing.js';
import { $, $in } from './dom.js';

export interface Grid {
  bpm: number; beatsPerBar: number; beatUnit: number; running: boolean;
  anchorServerUs: number; anchorBeat: number;
}

export function gridOf(t: TempoState): Grid {
  return {
    bpm: t.bpm, beatsPerBar: t.beatsPerBar || 4, beatUnit: t.beatUnit || 4, running: t.running,
    anchorServerUs: Number(t.anchorServerTime), anchorBeat: t.anchorBeat,
  };
}

// beat(t) = anchor_beat + (running ? (t - anchor) * bpm / 60e6 : 0)
export function beatAt(g: Grid, serverUs: number): number {
  return g.running ? g.anchorBeat + ((serverUs - g.anchorServerUs) * g.bpm) / 60e6 : g.anchorBeat;
}
export function timeOfBeat(g: Grid, beat: number): number {
  return g.anchorServerUs + ((beat - g.anchorBeat) * 60e6) / g.bpm;
}
// Bar and beat in the bar of integer beat b (floor division: a count-in is bar -1).
export function barBeat(g: Grid, b: number): { bar: number; inBar: number } {
  const bar = Math.floor(b / g.beatsPerBar);
  return { bar, inBar: b - bar * g.beatsPerBar };
}
// "♩ 120 · 4/4 · bar 3 beat 2" (1-based for people), or "stopped".
export function describe(g: Grid, serverUs: number): string {
  const head = `♩ ${Number.isInteger(g.bpm) ? g.bpm : g.bpm.toFixed(1)} · ${g.beatsPerBar}/${g.beatUnit}`;
  if (!g.running) return `${head} · stopped`;
  const b = Math.floor(beatAt(g, serverUs));
  if (b < 0) return `${head} · count-in ${-b}`;
  const { bar, inBar } = barBeat(g, b);
  return `${head} · bar ${bar + 1} beat ${inBar + 1}`;
}

// The figures for HeartbeatMessage.quality, bounded as the server checks them.
export function qualityFigures(rttUs: number, errorUs: number, events: number, late: number,
                               dropped: number): { rttUs: number; offsetErrorUs: number; latePercent: number; droppedPercent: number } {
  const clampUs = (v: number) => Math.max(0, Math.min(60e6, Number.isFinite(v) ? Math.round(v) : 60e6));
  const pct = (n: number) => (events > 0 ? Math.max(0, Math.min(100, (100 * n) / events)) : 0);
  return { rttUs: clampUs(rttUs), offsetErrorUs: clampUs(errorUs), latePercent: pct(late), droppedPercent: pct(dropped) };
}

export interface ClickSink { click(atLocalUs: number, accent: boolean): void; }

export class Metronome {
  grid: Grid | null = null;
  changedBy = '';
  on = false;  // audible clicks (the beat display runs either way)
  private nextBeat = 0;

  constructor(private serverFromLocal: () => number | null, private localFromServer: (s: number) => number,
              private view: { text: (s: string) => void; beat: (accent: boolean) => void }) {}

  set(t: TempoState | undefined): void {
    if (!t) return;
    this.grid = gridOf(t);
    this.changedBy = t.changedByUsername;
    const now = this.serverFromLocal();
    this.nextBeat = now === null ? 0 : Math.ceil(beatAt(this.grid, now) - 1e-9);
  }

  // Called often (every animation frame or timer tick): updates the display, flashes on a
  // beat and schedules the clicks due within `lookaheadUs` into `sink`.
  tick(sink: ClickSink | null, lookaheadUs: number): void {
    const now = this.serverFromLocal();
    const g = this.grid;
    if (!g || now === null) { this.view.text(g ? describe(g, 0) : ''); return; }
    this.view.text(describe(g, now) + (this.changedBy ? ` (set by ${this.changedBy})` : ''));
    if (!g.running || g.bpm <= 0) return;
    // Beats long past (a sleeping tab) are skipped, not played in a burst.
    const current = Math.ceil(beatAt(g, now - 50_000) - 1e-9);
    if (this.nextBeat < current) this.nextBeat = current;
    while (timeOfBeat(g, this.nextBeat) <= now + lookaheadUs) {
      const b = this.nextBeat++;
      const accent = barBeat(g, b).inBar === 0;
      if (this.on && sink) sink.click(this.localFromServer(timeOfBeat(g, b)), accent);
      if (b >= 0) this.view.beat(accent);
    }
  }
}

// What the page's music wiring needs of the App.
export interface MusicHost {
  timing: Timing;
  conn: Connection;
  ctx: AudioContext | null;
  synth: PianoSynth | null;
}

// Wires the metronome (display, clicks), the Panic button and the quality report into the
// page; `wantAudio` starts the audio engine (a click needs a user gesture first).
export function startMetronome(app: MusicHost, wantAudio: () => void): Metronome {
  const clock = app.timing.clock;
  const dot = $('tempo-dot');
  let flash: ReturnType<typeof setTimeout> | null = null;
  const m = new Metronome(
    () => (clock.synced ? clock.serverFromLocal(nowLocalUs()) : null),
    (s) => clock.localFromServer(s),
    {
      text: (s) => { if ($('tempo-text').textContent !== s) $('tempo-text').textContent = s; },
      beat: (accent) => {
        dot.classList.toggle('accent', accent);
        dot.classList.add('on');
        if (flash) clearTimeout(flash);
        flash = setTimeout(() => dot.classList.remove('on'), 120);
      },
    });
  const sink: ClickSink = {
    click: (atLocalUs, accent) => {
      if (app.synth && app.ctx) app.synth.click(app.ctx.currentTime + (atLocalUs - nowLocalUs()) / 1e6, accent);
    },
  };
  // The display flashes when the beat is due; clicks are scheduled a little ahead into the
  // audio clock, so a busy main thread does not make them late.
  setInterval(() => m.tick(sink, 100_000), 25);
  $in('metronome-on').addEventListener('change', () => {
    m.on = $in('metronome-on').checked;
    if (m.on) wantAudio();
  });
  $('panic').addEventListener('click', () => {
    app.conn.send({ case: 'panic', value: { everyone: false } }, true);
  });
  app.conn.quality = () => {
    const st = app.timing.playout.stats();
    return qualityFigures(clock.rttUs, clock.errorBoundUs, st.events, st.late, st.dropped);
  };
  return m;
}

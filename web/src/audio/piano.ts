// PianoSynth: a WebAudio instrument that sounds like a piano without samples. Each voice
// is a periodic wave of the timbre's partials on two slightly detuned oscillators, through a velocity-dependent low-pass
// filter and a gain envelope (5 ms attack, pitch-dependent exponential decay, short
// release). Every gain change is a ramp or a target curve, never a jump, so nothing
// clicks. Pedal (CC64) holds released notes per source; a polyphony limit steals the
// oldest voice with a quick fade. Works on any BaseAudioContext, so the same engine
// renders in an OfflineAudioContext for the tests. Main thread only.
//
// A "source" is one sender's channel ("user#session/ch"); notes and pedals of one
// source never affect another's.

export interface ScheduledNote {
  kind: 'on' | 'off' | 'pedal' | 'bend' | 'program' | 'releaseAll' | 'click';
  source: string;
  note: number;
  velocity: number;
  when: number;  // AudioContext time, s
}

type Timbre = { partials: [number, number][]; decayScale: number; brightness: number };
// [harmonic number, relative amplitude]
const TIMBRES: Timbre[] = [
  { partials: [[1, 1], [2, 0.45], [3, 0.25], [4, 0.12], [5, 0.08], [6, 0.04]], decayScale: 1, brightness: 1 },
  { partials: [[1, 1], [2, 0.2], [3, 0.05], [7, 0.03]], decayScale: 1.4, brightness: 0.7 },  // e-piano
  { partials: [[1, 1], [2, 0.8], [3, 0.6], [4, 0.4], [6, 0.3], [8, 0.2]], decayScale: 50, brightness: 1.2 },  // organ
];
function timbreFor(program: number): Timbre {
  if (program >= 4 && program <= 7) return TIMBRES[1];
  if (program >= 16 && program <= 23) return TIMBRES[2];
  return TIMBRES[0];
}

const waves = new WeakMap<BaseAudioContext, Map<Timbre, PeriodicWave>>();
function waveFor(ctx: BaseAudioContext, t: Timbre): PeriodicWave {
  let m = waves.get(ctx);
  if (!m) { m = new Map(); waves.set(ctx, m); }
  let w = m.get(t);
  if (!w) {
    const n = Math.max(...t.partials.map(([h]) => h)) + 1;
    const real = new Float32Array(n);
    const imag = new Float32Array(n);
    for (const [h, amp] of t.partials) imag[h] = amp;
    w = ctx.createPeriodicWave(real, imag);
    m.set(t, w);
  }
  return w;
}

const ATTACK_S = 0.005;
const RELEASE_TAU_S = 0.06;  // release: exp. target, ~99% gone after 5 taus
const STEAL_S = 0.008;        // a stolen voice fades with this time constant
const STOP_TAUS = 6;          // oscillators stop this many time constants into a fade
export const MAX_VOICES = 48;  // notes held or sustained
// Voices the audio thread renders at once, fading tails included: past this the oldest
// are cut short with a quick fade. In a busy room the tails would otherwise pile up
// (2,000 notes/s x a 0.4 s release) and starve both the audio thread and the main one.
export const MAX_RENDERED = 96;
// Note-ons per second above which new voices are light (one oscillator, no filter):
// a person plays far fewer; a flood of notes must not stall the page.
export const LIGHT_RATE = 120;

class Voice {
  oscs: OscillatorNode[] = [];
  baseDetune: number[] = [];
  gain: GainNode;
  peak: number;
  decayTau: number;
  start: number;
  releasedAt = Infinity;  // key up (or pedal up) time
  held = true;            // key down
  sustained = false;      // key up while the pedal was down
  endsAt = Infinity;

  constructor(ctx: BaseAudioContext, out: AudioNode, public source: string, public note: number,
              velocity: number, when: number, timbre: Timbre, bendCents: number, light: boolean) {
    this.start = when;
    const f0 = 440 * 2 ** ((note - 69) / 12);
    const v = Math.max(1, Math.min(127, velocity)) / 127;
    this.peak = 0.05 + 0.2 * v * v;
    // Lower notes ring longer: ~6 s at A0, ~0.8 s at C8.
    this.decayTau = Math.max(0.35, 3.2 * 2 ** (-(note - 21) / 30)) * timbre.decayScale;
    this.gain = ctx.createGain();
    this.gain.gain.setValueAtTime(0, when);
    this.gain.gain.linearRampToValueAtTime(this.peak, when + ATTACK_S);
    this.gain.gain.setTargetAtTime(0, when + ATTACK_S, this.decayTau);
    this.gain.connect(out);
    let input: AudioNode = this.gain;
    if (!light) {
      // Bright at the strike, mellower as it rings; harder strikes are brighter.
      const filter = ctx.createBiquadFilter();
      filter.type = 'lowpass';
      const cutoff = Math.min(18000, f0 * (2 + 10 * v) * timbre.brightness);
      filter.frequency.setValueAtTime(cutoff, when);
      filter.frequency.setTargetAtTime(Math.max(f0 * 1.5, cutoff * 0.3), when + 0.02, this.decayTau / 2);
      filter.Q.value = 0.3;
      filter.connect(this.gain);
      input = filter;
    }
    // Two oscillators a few cents apart (a piano's unison strings beat) playing one
    // periodic wave with the timbre's partials; a light voice (busy room) has one and
    // no filter: 2 nodes instead of 4 (docs/PERFORMANCE.md, web client).
    const wave = waveFor(ctx, timbre);
    for (const d of light ? [0] : [-3, 3]) {
      const o = ctx.createOscillator();
      o.setPeriodicWave(wave);
      o.frequency.value = f0;
      o.detune.setValueAtTime(d + bendCents, when);
      o.connect(input);
      o.start(when);
      this.oscs.push(o);
      this.baseDetune.push(d);
    }
  }

  // The envelope's value at `t` (before any release), computed rather than read, so a
  // release can be scheduled in the future on any browser (no cancelAndHoldAtTime).
  levelAt(t: number): number {
    if (t <= this.start) return 0;
    if (t <= this.start + ATTACK_S) return this.peak * (t - this.start) / ATTACK_S;
    return this.peak * Math.exp(-(t - this.start - ATTACK_S) / this.decayTau);
  }

  releaseTau = RELEASE_TAU_S;
  cut = false;  // cut short by MAX_RENDERED: no longer counted

  release(when: number, tau = RELEASE_TAU_S): void {
    if (when >= this.releasedAt) return;
    this.releasedAt = when;
    this.releaseTau = tau;
    this.fade(when, this.levelAt(when), tau);
  }

  // Cuts a voice short, fading or not: its level at `when` follows from the envelope
  // and, once released, from the release curve.
  cutShort(when: number): void {
    this.cut = true;
    const level = when <= this.releasedAt ? this.levelAt(when)
      : this.levelAt(this.releasedAt) * Math.exp(-(when - this.releasedAt) / this.releaseTau);
    if (when < this.releasedAt) this.releasedAt = when;
    this.fade(when, level, STEAL_S);
  }

  private fade(when: number, level: number, tau: number): void {
    const g = this.gain.gain;
    g.cancelScheduledValues(when);
    g.setValueAtTime(level, when);
    g.setTargetAtTime(0, when, tau);
    this.endsAt = when + tau * STOP_TAUS;
    for (const o of this.oscs) {
      try { o.stop(this.endsAt); } catch { /* already stopped */ }
    }
  }

  bend(cents: number, when: number): void {
    this.oscs.forEach((o, i) => o.detune.setTargetAtTime(cents + this.baseDetune[i], when, 0.004));
  }
}

export class PianoSynth {
  readonly out: GainNode;
  private voices: Voice[] = [];
  private pedal = new Map<string, boolean>();
  private bends = new Map<string, number>();
  private programs = new Map<string, number>();
  private rate = 0;
  private rateAt = 0;
  onSchedule: ((n: ScheduledNote) => void) | null = null;

  constructor(readonly ctx: BaseAudioContext, dest: AudioNode = ctx.destination) {
    const comp = ctx.createDynamicsCompressor();
    comp.threshold.value = -10;
    comp.ratio.value = 4;
    this.out = ctx.createGain();
    this.out.gain.value = 0.8;
    this.out.connect(comp).connect(dest);
  }

  // A metronome click at `when` (context seconds): a short high blip, higher on the bar's
  // first beat. Not a voice: nothing releases it and it never holds a key.
  click(when: number, accent: boolean): void {
    const t = this.at(when);
    const osc = this.ctx.createOscillator();
    const env = this.ctx.createGain();
    osc.frequency.value = accent ? 1760 : 1320;
    env.gain.setValueAtTime(0, t);
    env.gain.linearRampToValueAtTime(accent ? 0.5 : 0.3, t + 0.002);
    env.gain.exponentialRampToValueAtTime(0.001, t + 0.05);
    osc.connect(env).connect(this.out);
    osc.start(t);
    osc.stop(t + 0.06);
    this.emit('click', 'metronome', accent ? 1 : 0, 0, t);
  }

  setVolume(v: number): void {
    this.out.gain.setTargetAtTime(Math.max(0, Math.min(1, v)), this.ctx.currentTime, 0.02);
  }

  private at(when: number): number { return Math.max(when, this.ctx.currentTime); }
  private emit(kind: ScheduledNote['kind'], source: string, note: number, velocity: number, when: number) {
    this.onSchedule?.({ kind, source, note, velocity, when });
  }
  private prune(): void {
    const t = this.ctx.currentTime;
    this.voices = this.voices.filter((v) => v.endsAt > t);
  }

  noteOn(source: string, note: number, velocity: number, when: number): void {
    when = this.at(when);
    this.emit('on', source, note, velocity, when);
    this.prune();
    // The same key struck again: the old string is damped first.
    for (const v of this.voices) {
      if (v.source === source && v.note === note && v.releasedAt === Infinity) v.release(when, STEAL_S);
    }
    const live = this.voices.filter((v) => v.releasedAt > when);
    if (live.length >= MAX_VOICES) {
      // Steal: prefer the oldest voice whose key is up, else the oldest.
      const victim = live.find((v) => !v.held) ?? live[0];
      victim.release(when, STEAL_S);
    }
    let rendered = 0;
    for (const v of this.voices) if (!v.cut) rendered++;
    for (const v of this.voices) {
      if (rendered < MAX_RENDERED) break;
      if (!v.cut) { v.cutShort(when); rendered--; }  // oldest first
    }
    const timbre = timbreFor(this.programs.get(source) ?? 0);
    // Note-ons per second, decayed over ~0.5 s: above LIGHT_RATE voices go light.
    const now = this.ctx.currentTime;
    this.rate = this.rate * Math.exp(-(now - this.rateAt) / 0.5) + 1;
    this.rateAt = now;
    const light = this.rate / 0.5 > LIGHT_RATE;
    this.voices.push(new Voice(this.ctx, this.out, source, note, velocity, when, timbre,
                               this.bends.get(source) ?? 0, light));
  }

  noteOff(source: string, note: number, when: number): void {
    when = this.at(when);
    this.emit('off', source, note, 0, when);
    const down = this.pedal.get(source) === true;
    for (const v of this.voices) {
      if (v.source !== source || v.note !== note || !v.held || v.start > when) continue;
      v.held = false;
      if (down) v.sustained = true; else v.release(when);
    }
  }

  sustain(source: string, down: boolean, when: number): void {
    when = this.at(when);
    this.emit('pedal', source, 0, down ? 127 : 0, when);
    this.pedal.set(source, down);
    if (down) return;
    for (const v of this.voices) {
      if (v.source === source && v.sustained) { v.sustained = false; v.release(when); }
    }
  }

  pitchBend(source: string, value14: number, when: number): void {
    when = this.at(when);
    const cents = ((value14 - 8192) / 8192) * 200;
    this.bends.set(source, cents);
    this.emit('bend', source, 0, value14, when);
    for (const v of this.voices) if (v.source === source && v.releasedAt > when) v.bend(cents, when);
  }

  program(source: string, program: number, when: number): void {
    this.programs.set(source, program);
    this.emit('program', source, program, 0, this.at(when));
  }

  // Everything from `sources` matching the predicate stops (a departed sender, a
  // dropped connection): keys up, pedal up, bend reset.
  releaseWhere(pred: (source: string) => boolean, when = this.ctx.currentTime): void {
    when = this.at(when);
    for (const s of [...this.pedal.keys()]) if (pred(s)) this.pedal.delete(s);
    for (const s of [...this.bends.keys()]) if (pred(s)) this.bends.delete(s);
    const hit = new Set<string>();
    for (const v of this.voices) {
      if (!pred(v.source)) continue;
      hit.add(v.source);
      v.held = false;
      v.sustained = false;
      v.release(when);
    }
    for (const s of hit) this.emit('releaseAll', s, 0, 0, when);
  }
  releaseAll(when = this.ctx.currentTime): void { this.releaseWhere(() => true, when); }

  // Notes of `source` still held or sustained (for snapshots and the tests).
  soundingNotes(source: string): number[] {
    return this.voices.filter((v) => v.source === source && (v.held || v.sustained) &&
                              v.releasedAt === Infinity).map((v) => v.note);
  }
  pedalDown(source: string): boolean { return this.pedal.get(source) === true; }
  // Voices not yet released, at the current time (for the tests: nothing stuck).
  activeVoices(): number {
    return this.voices.filter((v) => v.releasedAt === Infinity).length;
  }
}

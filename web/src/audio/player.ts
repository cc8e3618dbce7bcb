// Player: turns MIDI into sound and key colours. Local notes play at once (the player
// hears themselves without a round trip); others' batches are scheduled through the
// timing seam (playout/timing.ts) at their playout time. Held-note snapshots and the
// server's synthetic note-offs are honoured, and every source is released when its
// sender leaves or the connection drops, so nothing sticks. Main thread only; owned by
// the App.
import type { HeldNotesSnapshot, MidiMessage } from '../gen/tutti_pb.js';
import type { InEvent, OutEvent, Timing } from '../playout/timing.js';
import type { PianoSynth } from './piano.js';

export type KeyListener = (note: number, owner: string | null, on: boolean) => void;

export interface ParsedEvent { status: number; d1: number; d2: number; }

// Splits a byte string of complete channel messages (no running status) into events.
export function parseChannelMessages(bytes: Uint8Array): ParsedEvent[] {
  const out: ParsedEvent[] = [];
  let i = 0;
  while (i < bytes.length) {
    const st = bytes[i];
    if (st < 0x80 || st >= 0xf0) break;
    const len = (st & 0xf0) === 0xc0 || (st & 0xf0) === 0xd0 ? 2 : 3;
    if (i + len > bytes.length) break;
    out.push({ status: st, d1: bytes[i + 1], d2: len === 3 ? bytes[i + 2] : 0 });
    i += len;
  }
  return out;
}

// What a HeldNotesSnapshot says about a sender's controllers, as channel messages to
// apply before their later notes (a late joiner has heard none of it): program, pitch
// bend, mod wheel, and the sustain / sostenuto / soft pedals that are down.
export function snapshotControllerEvents(s: HeldNotesSnapshot): ParsedEvent[] {
  const out: ParsedEvent[] = [];
  for (const c of s.controllers) {
    const ch = c.channel & 0x0f;
    if (c.hasProgram) out.push({ status: 0xc0 | ch, d1: c.program & 0x7f, d2: 0 });
    const bend = Math.min(c.pitchBend, 0x3fff);
    if (bend !== 0x2000) out.push({ status: 0xe0 | ch, d1: bend & 0x7f, d2: bend >> 7 });
    if (c.modWheel) out.push({ status: 0xb0 | ch, d1: 1, d2: c.modWheel & 0x7f });
  }
  const pedals: [number, number][] = [[64, s.sustainChannels], [66, s.sostenutoChannels], [67, s.softChannels]];
  for (const [cc, mask] of pedals) {
    for (let ch = 0; ch < 16; ch++) if ((mask >> ch) & 1) out.push({ status: 0xb0 | ch, d1: cc, d2: 127 });
  }
  return out;
}

export const senderKey = (userId: string, sessionId: bigint | number | string): string =>
  `${userId}#${sessionId}`;
const sourceOf = (sender: string, ch: number) => `${sender}/${ch}`;
const senderOfSource = (source: string) => source.slice(0, source.lastIndexOf('/'));

export class Player {
  // note -> owners currently showing on that key (the last one colours it).
  private keyOwners = new Map<number, string[]>();
  private timers = new Set<ReturnType<typeof setTimeout>>();
  localSender = 'local';
  // Our own server identity ("user#session"): a snapshot of ourselves is not played.
  isSelf: (sender: string) => boolean = () => false;

  constructor(private synth: PianoSynth, private timing: Timing, private onKey: KeyListener,
              private nowLocalUs: () => number) {}

  // Local time (us) -> AudioContext time (s). currentTime advances in render quanta
  // while performance.now() is fine-grained, so the mapping is kept steady and only
  // re-anchored when it drifts by more than 20 ms (a suspended context, a clock jump);
  // per sender, audio times never go backwards either.
  private audioOffset: number | null = null;
  private lastAudio = new Map<string, number>();
  private audioTime(localUs: number, sender?: string): number {
    const ctxNow = this.synth.ctx.currentTime;
    const measured = ctxNow - this.nowLocalUs() / 1e6;
    if (this.audioOffset === null || Math.abs(measured - this.audioOffset) > 0.02) this.audioOffset = measured;
    let t = Math.max(ctxNow, localUs / 1e6 + this.audioOffset);
    if (sender !== undefined) {
      t = Math.max(t, this.lastAudio.get(sender) ?? 0);
      this.lastAudio.set(sender, t);
    }
    return t;
  }

  private showKey(note: number, owner: string, on: boolean, atLocalUs: number): void {
    const apply = () => {
      const list = this.keyOwners.get(note) ?? [];
      if (on) list.push(owner);
      else { const i = list.lastIndexOf(owner); if (i >= 0) list.splice(i, 1); }
      this.keyOwners.set(note, list);
      this.onKey(note, list.length ? list[list.length - 1] : null, list.length > 0);
    };
    const wait = (atLocalUs - this.nowLocalUs()) / 1000;
    if (wait <= 1) { apply(); return; }
    const t = setTimeout(() => { this.timers.delete(t); apply(); }, wait);
    this.timers.add(t);
  }

  // Others' events also go to a Web MIDI output when one is picked, at their playout
  // time (performance.now() milliseconds).
  midiOut: ((bytes: number[], atMs: number) => void) | null = null;

  private apply(sender: string, e: ParsedEvent, whenAudio: number, atLocalUs: number): void {
    const ch = e.status & 0x0f;
    if (this.midiOut && sender !== this.localSender) {
      const two = (e.status & 0xf0) === 0xc0 || (e.status & 0xf0) === 0xd0;
      this.midiOut(two ? [e.status, e.d1] : [e.status, e.d1, e.d2], atLocalUs / 1000);
    }
    const src = sourceOf(sender, ch);
    switch (e.status & 0xf0) {
      case 0x90:
      case 0x80:
        if ((e.status & 0xf0) === 0x90 && e.d2 > 0) {
          this.synth.noteOn(src, e.d1, e.d2, whenAudio);
          this.showKey(e.d1, sender, true, atLocalUs);
          break;
        }
        // A note-off (or a note-on with velocity 0).
        if (this.synth.soundingNotes(src).includes(e.d1) || this.isLit(e.d1, sender)) {
          this.showKey(e.d1, sender, false, atLocalUs);
        }
        this.synth.noteOff(src, e.d1, whenAudio);
        break;
      case 0xb0:
        if (e.d1 === 64) this.synth.sustain(src, e.d2 >= 64, whenAudio);
        else if (e.d1 === 120 || e.d1 === 123) this.releaseSource(src, whenAudio, atLocalUs);
        break;
      case 0xe0:
        this.synth.pitchBend(src, e.d1 | (e.d2 << 7), whenAudio);
        break;
      case 0xc0:
        this.synth.program(src, e.d1, whenAudio);
        break;
      default:
        break;
    }
  }

  private isLit(note: number, owner: string): boolean {
    return (this.keyOwners.get(note) ?? []).includes(owner);
  }

  private releaseSource(src: string, whenAudio: number, atLocalUs: number): void {
    const sender = senderOfSource(src);
    for (const n of this.synth.soundingNotes(src)) this.showKey(n, sender, false, atLocalUs);
    this.synth.releaseWhere((s) => s === src, whenAudio);
  }

  // The player's own events: sound and colour now.
  playLocal(bytes: Uint8Array): void {
    const now = this.nowLocalUs();
    for (const e of parseChannelMessages(bytes)) {
      this.apply(this.localSender, e, this.synth.ctx.currentTime, now);
    }
  }

  // Plays what the timing core hands back, each at its own time.
  private playOut(events: OutEvent[]): void {
    for (const e of events) this.apply(e.sender, e, this.audioTime(e.localUs, e.sender), e.localUs);
  }

  // A relayed batch from someone else.
  onMidi(m: MidiMessage, arrivalLocalUs: number): void {
    const sender = senderKey(m.userId, m.sessionId);
    const events: InEvent[] = [];
    const add = (bytes: Uint8Array, delayUs: number) => {
      for (const e of parseChannelMessages(bytes)) events.push({ ...e, delayUs });
    };
    add(m.midiData, 0);
    for (const ev of m.events) add(ev.data, ev.delayUs);
    this.playOut(this.timing.playout.push(sender, Number(m.sequence), Number(m.timestamp), m.flags,
                                          events, arrivalLocalUs));
  }

  // A batch replayed after a resume (PROTOCOL.md §12, "Replayed MIDI"): history, not
  // performance. It never enters the jitter buffer: its note-ons are dropped, everything
  // else (note-offs, pedals, controllers, programs, bends) applies now, so the sender's
  // state here (and on a MIDI output) ends where the sender left it and nothing meant for
  // seconds ago sounds now.
  onReplayedMidi(m: MidiMessage): void {
    const sender = senderKey(m.userId, m.sessionId);
    if (sender === this.localSender || this.isSelf(sender)) return;
    const now = this.nowLocalUs();
    const when = this.audioTime(now, sender);
    const events = [...parseChannelMessages(m.midiData), ...m.events.flatMap((e) => parseChannelMessages(e.data))];
    for (const e of events) {
      if ((e.status & 0xf0) === 0x90 && e.d2 > 0) continue;
      this.apply(sender, e, when, now);
    }
  }

  // Reconcile with what the sender holds: the core releases what it no longer lists.
  onSnapshot(s: HeldNotesSnapshot): void {
    const sender = senderKey(s.userId, s.sessionId);
    if (sender === this.localSender || this.isSelf(sender)) return;
    const now = this.nowLocalUs();
    this.playOut(this.timing.playout.snapshot(sender, Number(s.sequence), s.sustainChannels,
                                              s.notes, now));
    // The controller state it covers, now: the sender's later notes play after it.
    const when = this.audioTime(now, sender);
    for (const e of snapshotControllerEvents(s)) this.apply(sender, e, when, now);
  }

  // The timing core's stuck-note watchdog (called about once a second).
  tick(): void {
    this.playOut(this.timing.playout.tick(this.nowLocalUs()));
  }

  // A sender left the room: release everything it had (the core's releases, and then
  // anything the engine still sounds for it, whatever the core knew).
  removeSender(userId: string, sessionId: bigint): void {
    const sender = senderKey(userId, sessionId);
    this.playOut(this.timing.playout.removeSender(sender, this.nowLocalUs()));
    this.lastAudio.delete(sender);
    this.clearKeys((o) => o === sender);
    this.synth.releaseWhere((s) => senderOfSource(s) === sender);
  }

  // The connection dropped or the room was left: silence everything now, clear all keys.
  releaseEverything(keepLocal = false): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.timing.playout.dropConnection(this.nowLocalUs());
    this.lastAudio.clear();
    this.clearKeys((o) => !(keepLocal && o === this.localSender));
    this.synth.releaseWhere((s) => !(keepLocal && senderOfSource(s) === this.localSender));
  }

  private clearKeys(pred: (owner: string) => boolean): void {
    for (const [note, owners] of this.keyOwners) {
      const left = owners.filter((o) => !pred(o));
      if (left.length !== owners.length) {
        this.keyOwners.set(note, left);
        this.onKey(note, left.length ? left[left.length - 1] : null, left.length > 0);
      }
    }
  }
}

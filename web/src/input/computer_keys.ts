// The computer keyboard as a piano: two rows (Z..M for the lower octave, Q..P for the
// upper one, with the number/home rows as black keys), arrows shift the octave, space
// is the sustain pedal. Keys are matched by `code` (physical position), so the layout
// works on AZERTY and QWERTZ too. Ignored while typing in a field. Main thread only.
const LOWER: [string, number][] = [
  ['KeyZ', 0], ['KeyS', 1], ['KeyX', 2], ['KeyD', 3], ['KeyC', 4], ['KeyV', 5], ['KeyG', 6],
  ['KeyB', 7], ['KeyH', 8], ['KeyN', 9], ['KeyJ', 10], ['KeyM', 11], ['Comma', 12], ['KeyL', 13],
  ['Period', 14], ['Semicolon', 15], ['Slash', 16],
];
const UPPER: [string, number][] = [
  ['KeyQ', 12], ['Digit2', 13], ['KeyW', 14], ['Digit3', 15], ['KeyE', 16], ['KeyR', 17],
  ['Digit5', 18], ['KeyT', 19], ['Digit6', 20], ['KeyY', 21], ['Digit7', 22], ['KeyU', 23],
  ['KeyI', 24], ['Digit9', 25], ['KeyO', 26], ['Digit0', 27], ['KeyP', 28], ['BracketLeft', 29],
  ['Equal', 30], ['BracketRight', 31],
];
export const KEY_OFFSETS = new Map<string, number>([...LOWER, ...UPPER]);
const LABEL: Record<string, string> = { Comma: ',', Period: '.', Semicolon: ';', Slash: '/',
  BracketLeft: '[', BracketRight: ']', Equal: '=' };
const labelOf = (code: string) => LABEL[code] ?? code.replace(/^Key|^Digit/, '');

export interface KeyHandlers {
  press(note: number, velocity: number): void;
  release(note: number): void;
  sustain(down: boolean): void;
  octaveChanged(octave: number): void;
}

export class ComputerKeys {
  octave = 3;  // the lower row starts at C(octave); C3 = 48
  private down = new Map<string, number>();  // code -> note it started
  velocity = 96;
  private pedal = false;

  constructor(target: Window, private h: KeyHandlers) {
    target.addEventListener('keydown', (e) => this.onDown(e));
    target.addEventListener('keyup', (e) => this.onUp(e));
    target.addEventListener('blur', () => this.releaseAll());
  }

  baseNote(): number { return 12 * (this.octave + 1); }

  labels(): Map<number, string> {
    const m = new Map<number, string>();
    // The upper row's letters win where the rows overlap (Q above Comma).
    for (const [code, off] of [...UPPER, ...LOWER]) {
      const n = this.baseNote() + off;
      if (!m.has(n)) m.set(n, labelOf(code));
    }
    return m;
  }

  shift(by: number): void {
    const o = Math.max(1, Math.min(6, this.octave + by));
    if (o === this.octave) return;
    this.octave = o;
    this.h.octaveChanged(o);
  }

  private typing(e: KeyboardEvent): boolean {
    const t = e.target as HTMLElement | null;
    if (!t) return false;
    const tag = t.tagName;
    return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || t.isContentEditable;
  }

  private onDown(e: KeyboardEvent): void {
    if (this.typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.code === 'ArrowLeft' || e.code === 'ArrowRight') {
      e.preventDefault();
      this.shift(e.code === 'ArrowLeft' ? -1 : 1);
      return;
    }
    if (e.code === 'Space') {
      // Space on a focused button must still press it; elsewhere it is the pedal.
      if ((e.target as HTMLElement)?.tagName === 'BUTTON') return;
      e.preventDefault();
      if (!this.pedal) { this.pedal = true; this.h.sustain(true); }
      return;
    }
    const off = KEY_OFFSETS.get(e.code);
    if (off === undefined) return;
    e.preventDefault();
    if (e.repeat || this.down.has(e.code)) return;
    const note = this.baseNote() + off;
    this.down.set(e.code, note);
    this.h.press(note, this.velocity);
  }

  private onUp(e: KeyboardEvent): void {
    if (e.code === 'Space' && this.pedal) {
      this.pedal = false;
      this.h.sustain(false);
      return;
    }
    const note = this.down.get(e.code);
    if (note === undefined) return;
    this.down.delete(e.code);
    this.h.release(note);
  }

  releaseAll(): void {
    for (const n of this.down.values()) this.h.release(n);
    this.down.clear();
    if (this.pedal) { this.pedal = false; this.h.sustain(false); }
  }
}

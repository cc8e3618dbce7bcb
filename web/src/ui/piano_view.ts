// The on-screen piano: keys drawn as absolutely placed divs, played with pointer events
// (mouse, pen and multi-touch: one note per active pointer, sliding to another key moves
// the note). Lit keys take the colour of whoever plays them. Main thread only.
export const LOW_NOTE = 36;   // C2
export const HIGH_NOTE = 96;  // C7
// Key geometry in white-key units; the keyboard stretches to its box, and scrolls
// sideways only below MIN_WHITE_PX per white key (phones).
const BLACK_W = 0.64;
const MIN_WHITE_PX = 24;
const isBlack = (n: number) => [1, 3, 6, 8, 10].includes(n % 12);
const NAMES = ['C', 'C♯', 'D', 'D♯', 'E', 'F', 'F♯', 'G', 'G♯', 'A', 'A♯', 'B'];
export const noteName = (n: number) => `${NAMES[n % 12]}${Math.floor(n / 12) - 1}`;

export interface PianoHandlers {
  press(note: number, velocity: number): void;
  release(note: number): void;
}

export class PianoView {
  private keys = new Map<number, HTMLElement>();
  private pointers = new Map<number, number>();  // pointerId -> note

  constructor(private root: HTMLElement, private h: PianoHandlers) {
    const inner = document.createElement('div');
    inner.className = 'keys';
    let x = 0;
    for (let n = LOW_NOTE; n <= HIGH_NOTE; n++) {
      const k = document.createElement('div');
      k.className = `key ${isBlack(n) ? 'black' : 'white'}`;
      k.dataset.note = String(n);
      k.setAttribute('aria-label', noteName(n));
      k.dataset.x = String(isBlack(n) ? x - BLACK_W / 2 : x);
      if (!isBlack(n)) x += 1;
      const label = document.createElement('span');
      label.className = 'label';
      k.appendChild(label);
      inner.appendChild(k);
      this.keys.set(n, k);
    }
    const whites = x;
    for (const k of this.keys.values()) {
      const left = Number(k.dataset.x);
      k.style.setProperty('left', `${(100 * left) / whites}%`);
      k.style.setProperty('width', `${(100 * (k.classList.contains('black') ? BLACK_W : 1)) / whites}%`);
    }
    inner.style.setProperty('min-width', `${whites * MIN_WHITE_PX}px`);
    root.appendChild(inner);
    root.addEventListener('pointerdown', (e) => this.down(e));
    root.addEventListener('pointermove', (e) => this.move(e));
    for (const t of ['pointerup', 'pointercancel', 'lostpointercapture'] as const) {
      root.addEventListener(t, (e) => this.up(e));
    }
    root.addEventListener('contextmenu', (e) => e.preventDefault());
  }

  // Scrolls so `note` is near the left third (on narrow screens only part shows).
  reveal(note: number): void {
    const k = this.keys.get(note);
    if (k) this.root.scrollLeft = Math.max(0, k.offsetLeft - this.root.clientWidth / 3);
  }

  setLabels(labels: Map<number, string>): void {
    for (const [n, k] of this.keys) (k.firstChild as HTMLElement).textContent = labels.get(n) ?? '';
  }

  setLit(note: number, color: string | null): void {
    const k = this.keys.get(note);
    if (!k) return;
    k.classList.toggle('lit', color !== null);
    if (color) k.style.setProperty('--key-color', color); else k.style.removeProperty('--key-color');
  }

  keyElement(note: number): HTMLElement | undefined { return this.keys.get(note); }

  private keyAt(e: PointerEvent): { note: number; velocity: number } | null {
    const el = document.elementFromPoint(e.clientX, e.clientY)?.closest('.key') as HTMLElement | null;
    if (!el || !this.root.contains(el)) return null;
    const r = el.getBoundingClientRect();
    const depth = Math.min(1, Math.max(0, (e.clientY - r.top) / Math.max(1, r.height)));
    // Nearer the front of the key is louder, as on a real keyboard's "fall" depth.
    return { note: Number(el.dataset.note), velocity: Math.round(40 + 87 * depth) };
  }

  private down(e: PointerEvent): void {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    const k = this.keyAt(e);
    if (!k) return;
    e.preventDefault();
    this.root.setPointerCapture?.(e.pointerId);
    this.pointers.set(e.pointerId, k.note);
    this.h.press(k.note, k.velocity);
  }

  private move(e: PointerEvent): void {
    const cur = this.pointers.get(e.pointerId);
    if (cur === undefined) return;
    const k = this.keyAt(e);
    if (!k || k.note === cur) return;
    this.h.release(cur);
    this.pointers.set(e.pointerId, k.note);
    this.h.press(k.note, k.velocity);
  }

  private up(e: PointerEvent): void {
    const cur = this.pointers.get(e.pointerId);
    if (cur === undefined) return;
    this.pointers.delete(e.pointerId);
    this.h.release(cur);
  }

  releaseAllPointers(): void {
    for (const n of this.pointers.values()) this.h.release(n);
    this.pointers.clear();
  }
}

// Web MIDI: lists inputs and outputs for the device pickers, forwards the chosen input's
// channel messages (note on/off with velocity, CC such as the sustain pedal, program
// change, pitch bend, pressure) and sends what others play to the chosen output at its
// playout time. Web MIDI is absent in some browsers (docs/WEB.md); then the pickers say
// so. Main thread only.
export type MidiBytesHandler = (bytes: Uint8Array) => void;

// Keeps channel voice messages only (no SysEx, clock or active sensing: the server
// refuses system messages), each as its own complete message.
export function channelMessages(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < data.length) {
    const st = data[i];
    if (st < 0x80) { i++; continue; }
    if (st >= 0xf0) break;  // system message: not relayed
    const len = (st & 0xf0) === 0xc0 || (st & 0xf0) === 0xd0 ? 2 : 3;
    if (i + len > data.length) break;
    out.push(data.slice(i, i + len));
    i += len;
  }
  return out;
}

export class WebMidi {
  access: MIDIAccess | null = null;
  private input: MIDIInput | null = null;
  output: MIDIOutput | null = null;
  error = '';

  constructor(private onBytes: MidiBytesHandler, private onDevices: () => void) {}

  get supported(): boolean { return typeof navigator.requestMIDIAccess === 'function'; }

  async init(): Promise<void> {
    if (!this.supported) { this.error = 'Web MIDI is not available in this browser'; return; }
    try {
      this.access = await navigator.requestMIDIAccess({ sysex: false });
    } catch (e) {
      this.error = `MIDI access refused (${(e as Error).message})`;
      return;
    }
    this.access.onstatechange = () => this.onDevices();
    this.onDevices();
  }

  inputs(): { id: string; name: string }[] {
    return this.access ? [...this.access.inputs.values()].map((p) => ({ id: p.id, name: p.name ?? p.id })) : [];
  }
  outputs(): { id: string; name: string }[] {
    return this.access ? [...this.access.outputs.values()].map((p) => ({ id: p.id, name: p.name ?? p.id })) : [];
  }

  selectInput(id: string): void {
    if (this.input) this.input.onmidimessage = null;
    this.input = id && this.access ? this.access.inputs.get(id) ?? null : null;
    if (this.input) {
      this.input.onmidimessage = (ev: MIDIMessageEvent) => {
        if (!ev.data) return;
        for (const m of channelMessages(ev.data)) this.onBytes(m);
      };
    }
  }

  // Sustain off and all notes off on every channel, now (pending scheduled sends are
  // cleared first where the browser can).
  silenceOutput(): void {
    const out = this.output;
    if (!out) return;
    try {
      (out as MIDIOutput & { clear?: () => void }).clear?.();
      for (let ch = 0; ch < 16; ch++) { out.send([0xb0 | ch, 64, 0]); out.send([0xb0 | ch, 123, 0]); }
    } catch { /* a device that went away */ }
  }

  selectOutput(id: string): void {
    this.silenceOutput();
    this.output = id && this.access ? this.access.outputs.get(id) ?? null : null;
  }

  // `atMs` is a performance.now() time; Web MIDI schedules it.
  sendOut(bytes: number[], atMs: number): void {
    try { this.output?.send(bytes, atMs); } catch { /* a device that went away */ }
  }
}

// Link: the page's second connection to its own session (PROTOCOL.md §16, docs/WEB.md
// "Two connections"). Over one TCP connection a lost segment holds up everything behind it
// until it is retransmitted; with a second connection the room's events and the page's
// MIDI also travel a path that is not stalled, and the first copy wins. The Link asks for
// a token on the primary (ServerCommand LINK), opens the second WebSocket with a sealed
// payload carrying it, hands each room event it brings to the page's dedupe (the same
// ResumeState the primary's events go through, resume.ts), sends the copy of each MIDI
// batch, and measures its own round trip with heartbeats. A link that is refused, fails or
// is closed never touches the primary: it is asked for again after a backoff (backoff.ts),
// and only while the page wants one (connected, in a room, not waiting for a resume's
// answer). Main thread only; owned by the Connection (connection.ts).
import type { ClientMessage } from '../gen/tutti_pb.js';
import { backoffDelayMs } from './backoff.js';
import { decodeReply, encodeRequest } from './proto.js';
import type { MessageKind } from './resume.js';

// off: turned off by the user; idle: not wanted now; asking: LINK sent, no token yet;
// opening: the second socket is connecting; attached: its LinkStatus came, it carries
// the room's events; waiting: it failed and is asked for again after a backoff.
export type LinkState = 'off' | 'idle' | 'asking' | 'opening' | 'attached' | 'waiting';

// What the Link needs of the page's connection.
export interface LinkHost {
  // Sends ServerCommand LINK on the primary; its request id, '' when that is not open.
  ask(): string;
  // The URL of a link connection presenting `token` (a fresh sealed payload); throws when
  // it cannot be built (the member's token ran out).
  url(token: string): string;
  // Dedupe of a room event that came on the link (ResumeState.observeLink).
  observe(m: ClientMessage): MessageKind;
  // A room event the link brought first: applied as if the primary had brought it.
  event(m: ClientMessage, arrivalLocalUs: number): void;
  // The state changed (for the indicator).
  changed(): void;
  nowUs(): number;
}

// The part of a WebSocket the Link uses (a test passes its own).
export interface LinkSocket {
  binaryType: BinaryType;
  readonly readyState: number;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

const OPEN = 1;  // WebSocket.OPEN
// A heartbeat on the link: its own round trip for the indicator, and traffic that keeps
// idle-closing proxies off an otherwise quiet socket.
export const LINK_PING_MS = 5000;
// A link that stayed attached this long starts the backoff over when it goes; one that
// attaches and is lost at once, again and again, keeps backing off.
export const LINK_STEADY_MS = 10000;

export class Link {
  state: LinkState = 'idle';
  // Why the link is not attached (the last failure), for the indicator's tooltip.
  detail = '';
  attempt = 0;
  rttUs: number | null = null;
  nextRetryAt = 0;
  // What a test or a developer's console reads: links attached, room events received on
  // the link, how many of them came first, the offset of the last one, and the close
  // codes seen (bounded).
  readonly stats = { attached: 0, events: 0, first: 0, lastOffset: 0n, closes: [] as number[] };
  private enabled = true;
  private wanted = false;
  private ws: LinkSocket | null = null;
  private askId = '';
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private attachedAtMs = 0;

  constructor(private host: LinkHost,
              private openSocket: (url: string) => LinkSocket = (u) => new WebSocket(u) as unknown as LinkSocket,
              private random: () => number = Math.random) {}

  get isOn(): boolean { return this.enabled; }
  get attached(): boolean { return this.state === 'attached'; }

  // The user's switch. Off closes the link at once; on links again when wanted.
  setEnabled(on: boolean): void {
    if (on === this.enabled) return;
    this.enabled = on;
    const wanted = this.wanted;
    this.stop();
    if (on) this.want(wanted);
  }

  // Whether the page wants a link now (idempotent: called after every change).
  want(on: boolean): void {
    if (!on) { if (this.wanted || this.state !== (this.enabled ? 'idle' : 'off')) this.stop(); return; }
    this.wanted = true;
    if (this.enabled && this.state === 'idle') this.ask();
  }

  // The primary's answer to our LINK (LinkStatus) or its refusal (an ErrorMessage with
  // our request id); false for anything else, which the page handles as usual.
  onPrimary(m: ClientMessage): boolean {
    const v = m.message;
    if (v.case === 'linkStatus') {
      if (this.state !== 'asking' || (m.requestId !== '' && m.requestId !== this.askId)) return true;
      this.askId = '';
      if (!v.value.linkToken) { this.fail('no link token'); return true; }
      this.open(v.value.linkToken);
      return true;
    }
    if (v.case === 'errorMessage' && this.askId !== '' && m.requestId === this.askId) {
      this.askId = '';
      this.fail(`refused (${v.value.errorCode})`);
      return true;
    }
    return false;
  }

  // The copy of a MIDI request the primary sends too (same bytes, same sequence).
  sendCopy(frame: Uint8Array): void {
    if (this.state === 'attached' && this.ws?.readyState === OPEN) this.ws.send(frame);
  }

  // Not wanted any more (the primary dropped, the page left its room, the user turned it
  // off): the link closes with a goodbye and nothing is retried.
  stop(): void {
    this.wanted = false;
    this.askId = '';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, 'bye');
    this.rttUs = null;
    this.attempt = 0;
    this.setState(this.enabled ? 'idle' : 'off');
  }

  private setState(s: LinkState): void {
    if (s === this.state) return;
    this.state = s;
    this.host.changed();
  }

  private ask(): void {
    const id = this.host.ask();
    if (!id) return;  // the primary is not open: the next want() asks
    this.askId = id;
    this.setState('asking');
  }

  private open(token: string): void {
    let ws: LinkSocket;
    try {
      ws = this.openSocket(this.host.url(token));
    } catch (e) {
      this.fail((e as Error).message);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.setState('opening');
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      const at = this.host.nowUs();
      if (!(ev.data instanceof ArrayBuffer)) return;
      let m: ClientMessage;
      try {
        m = decodeReply(new Uint8Array(ev.data));
      } catch {
        return;  // ignored, as on the primary
      }
      this.onLinkMessage(m, at);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopPing();
      this.rttUs = null;
      if (this.state === 'attached' && Date.now() - this.attachedAtMs >= LINK_STEADY_MS) this.attempt = 0;
      this.stats.closes.push(ev.code);
      if (this.stats.closes.length > 20) this.stats.closes.shift();
      // 4006: refused (a token spent or expired, a link already there); 4007: the session
      // ended or was parked (the primary's own close follows, and the page links again
      // after it resumes); anything else: the network or the server dropped it. Each is
      // retried after a backoff while a link is wanted: the primary is never touched.
      this.fail(ev.code === 4006 ? 'refused' : ev.code === 4007 ? 'session dropped' : `closed (${ev.code})`);
    };
  }

  private onLinkMessage(m: ClientMessage, at: number): void {
    const v = m.message;
    if (v.case === 'linkStatus') {
      if (v.value.attached && this.state === 'opening') {
        this.attachedAtMs = Date.now();
        this.detail = '';
        this.stats.attached++;
        this.setState('attached');
        this.startPing();
      }
      return;
    }
    if (v.case === 'heartbeatMessage') {
      const sent = Number(v.value.timestamp);
      if (sent > 0) this.rttUs = Math.max(0, at - sent);
      return;
    }
    if (v.case === 'errorMessage') {
      // A refusal before the close (4006), or UNSUPPORTED for something sent here by
      // mistake: shown in the tooltip, never on the page.
      this.detail = `${v.value.errorCode}: ${v.value.errorMessage}`;
      return;
    }
    if (!m.stream || this.state !== 'attached') return;
    this.stats.events++;
    this.stats.lastOffset = m.stream.offset;
    if (this.host.observe(m) !== 'live') return;
    this.stats.first++;
    this.host.event(m, at);
  }

  private fail(why: string): void {
    if (this.ws) { const ws = this.ws; this.ws = null; ws.close(1000, 'bye'); }
    this.stopPing();
    if (why !== 'refused' || !this.detail) this.detail = why;
    if (!this.wanted || !this.enabled) { this.setState(this.enabled ? 'idle' : 'off'); return; }
    const delay = backoffDelayMs(this.attempt++, this.random);
    this.nextRetryAt = Date.now() + delay;
    this.setState('waiting');
    this.host.changed();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.wanted || !this.enabled) return;
      this.state = 'idle';
      this.ask();
      if (this.state === 'idle') this.host.changed();
    }, delay);
  }

  private startPing(): void {
    this.stopPing();
    const ping = () => {
      if (this.ws?.readyState !== OPEN) return;
      this.ws.send(encodeRequest({ case: 'heartbeatMessage', value: { timestamp: BigInt(Math.round(this.host.nowUs())) } }));
    };
    ping();
    this.pingTimer = setInterval(ping, LINK_PING_MS);
  }
  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }
}

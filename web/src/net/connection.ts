// One logical connection to tutti-server: it fetches /api/server-info, seals a fresh
// payload for every attempt (asking to resume the session when it holds a resume token,
// resume.ts), keeps the heartbeat / clock-sync exchange going, decodes frames, tells
// replayed history from live events, and reconnects with backoff (backoff.ts, or later
// when the server's 1001 close says when) after any close it did not ask for. It also
// holds the session's linked connection (link.ts): MIDI goes out numbered on both, and
// the link's room events join the primary's through one dedupe (resume.ts).
// Main thread only; owned by the App (ui/app.ts).
import { create } from '@bufbuild/protobuf';
import {
  ClockSyncStatusSchema, ConnectionQualitySchema, type ClientMessage, ServerCommandType,
} from '../gen/tutti_pb.js';
import { delayAfterCloseMs, reconnectHintMs } from './backoff.js';
import { connectUrl, type Identity, linkUrl, parseServerInfo, type ServerInfo, sodiumReady } from './auth.js';
import { Link } from './link.js';
import { decodeReply, encodeRequest, type RequestInit } from './proto.js';
import { type MessageKind, ResumeState } from './resume.js';
import type { ClockSync } from '../playout/timing.js';

export type ConnState = 'idle' | 'connecting' | 'open' | 'waiting' | 'closed';

export interface ConnEvents {
  state(s: ConnState, detail: string): void;
  message(m: ClientMessage, arrivalLocalUs: number, kind: MessageKind): void;
  // Welcome received; `resuming`: this connection asked to resume, a ResumeResult follows.
  opened(first: boolean, resuming: boolean): void;
  dropped(): void;               // an open connection was lost
  linkChanged?(): void;          // the linked connection's state changed
}

export const SESSION_EXPIRED = 'session expired: sign in again';

export const nowLocalUs = (): number => performance.now() * 1000;

export class Connection {
  state: ConnState = 'idle';
  info: ServerInfo | null = null;
  attempt = 0;
  private ws: WebSocket | null = null;
  private identity: Identity | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setTimeout> | null = null;
  private welcomed = false;
  private everWelcomed = false;
  private nextRequest = 1;
  nextRetryAt = 0;
  // The resume token and room position, across this session's connections.
  readonly resume = new ResumeState();
  private resuming = false;
  // A DRAIN notice's reconnect_after_ms: the wait after the close it announces.
  drainReconnectMs = 0;
  // The latest retries planned (why, and the delay chosen), bounded: what a test or a
  // developer's console reads to see the schedule followed.
  readonly retries: { why: string; delayMs: number }[] = [];
  // The second connection to this session (PROTOCOL.md §16).
  readonly link: Link;
  // The page's own MIDI batch number (MidiMessage.sequence, inbound): +1 per batch, kept
  // across resumes (the server's window of numbers taken is the session's, and a resume
  // keeps the session), from 1 again for a new session.
  private midiSequence = 0n;
  // The offset of the last room event this connection brought (either copy): with the
  // link's stats, what a test reads to know both sockets are past an event.
  lastStreamOffset = 0n;
  // Set by the App: what to report in HeartbeatMessage.quality.
  quality: (() => { rttUs: number; offsetErrorUs: number; latePercent: number; droppedPercent: number }) | null = null;

  constructor(private clock: ClockSync, private events: ConnEvents,
              private wsOrigin: string, private infoUrl = '/api/server-info') {
    this.link = new Link({
      ask: () => this.send({ case: 'serverCommand', value: { commandType: ServerCommandType.LINK, parameters: {} } }, true),
      url: (token) => {
        if (!this.info || !this.identity) throw new Error('not connected');
        return linkUrl(this.info, this.identity, this.wsOrigin, token);
      },
      observe: (m) => this.resume.observeLink(m),
      event: (m, at) => this.events.message(m, at, 'live'),
      changed: () => this.events.linkChanged?.(),
      nowUs: nowLocalUs,
    });
  }

  async fetchInfo(): Promise<ServerInfo> {
    await sodiumReady();
    const r = await fetch(this.infoUrl, { cache: 'no-store' });
    if (!r.ok) throw new Error(`server-info: HTTP ${r.status}`);
    this.info = parseServerInfo(await r.json());
    return this.info;
  }

  start(identity: Identity): void {
    this.identity = identity;
    this.resume.reset();
    this.drainReconnectMs = 0;
    this.everWelcomed = false;
    this.attempt = 0;
    void this.open();
  }

  private setState(s: ConnState, detail: string): void {
    this.state = s;
    this.events.state(s, detail);
  }

  private async open(): Promise<void> {
    if (!this.identity) return;
    this.setState('connecting', this.attempt === 0 ? 'connecting…' : `reconnecting (attempt ${this.attempt + 1})…`);
    let url: string;
    try {
      const info = await this.fetchInfo();
      if (!this.identity.token && !info.guestsAllowed) {
        this.setState('closed', 'this server does not allow guests: connect with a token');
        return;
      }
      const resume = this.resume.fields();
      url = connectUrl(info, this.identity, this.wsOrigin, Date.now(), resume);
      this.resuming = resume !== null;
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('token:')) {
        this.setState('closed', e.message);
        return;
      }
      this.scheduleRetry(`server unreachable (${(e as Error).message})`);
      return;
    }
    if (!this.identity) return;  // stopped meanwhile
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.welcomed = false;
    ws.onmessage = (ev) => {
      const at = nowLocalUs();
      if (!(ev.data instanceof ArrayBuffer)) return;
      let m: ClientMessage;
      try {
        m = decodeReply(new Uint8Array(ev.data));
      } catch {
        return;  // an undecodable frame is ignored, as the protocol allows unknown data
      }
      // The answer to our LINK (or its refusal) is the link's, not the page's.
      if (this.link.onPrimary(m)) return;
      const kind = this.resume.observe(m);
      if (m.stream) this.lastStreamOffset = m.stream.offset;
      if (m.message.case === 'heartbeatMessage') {
        const h = m.message.value;
        this.clock.onExchange(Number(h.timestamp), Number(h.serverReceiveTime),
                              Number(h.serverSendTime), at);
      } else if (m.message.case === 'welcome' && !this.welcomed) {
        this.welcomed = true;
        const first = !this.everWelcomed;
        this.everWelcomed = true;
        this.attempt = 0;
        if (!this.resuming) this.midiSequence = 0n;  // a new session numbers from 1
        this.setState('open', 'connected');
        this.clock.reset();
        this.schedulePing(0);
        this.events.message(m, at, kind);
        this.events.opened(first, this.resuming);
        return;
      }
      this.events.message(m, at, kind);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopPing();
      // The link serves this connection's session: the server closes it (4007) when the
      // session is parked; it is asked for again once the session is back.
      this.link.stop();
      const wasOpen = this.welcomed;
      this.welcomed = false;
      this.resume.onDisconnected();
      if (wasOpen) this.events.dropped();
      if (!this.identity) { this.resume.reset(); this.setState('closed', 'disconnected'); return; }
      if (ev.code === 4003) { this.resume.reset(); this.setState('closed', 'banned by a server administrator'); return; }
      // The token ran out (PROTOCOL.md 4004): retrying with it would only be refused.
      if (ev.code === 4004) { this.identity = null; this.resume.reset(); this.setState('closed', SESSION_EXPIRED); return; }
      // A drain's close says when the server takes connections again (PROTOCOL.md §11).
      const hintMs = reconnectHintMs(ev.code, ev.reason, this.drainReconnectMs);
      this.drainReconnectMs = 0;
      const why = ev.code === 1001 ? `server going away${ev.reason ? ` (${ev.reason})` : ''}`
        : wasOpen ? `connection lost (${ev.code})` : 'connect refused';
      this.scheduleRetry(why, hintMs);
    };
  }

  // A refreshed token (UPDATE_PERMISSIONS) replaces the one later attempts seal.
  updateToken(token: string): void {
    if (this.identity?.token) this.identity = { ...this.identity, token };
  }

  private scheduleRetry(why: string, hintMs = 0): void {
    const delay = delayAfterCloseMs(this.attempt++, hintMs);
    this.retries.push({ why, delayMs: delay });
    if (this.retries.length > 20) this.retries.shift();
    this.nextRetryAt = Date.now() + delay;
    this.setState('waiting', `${why}; retrying in ${Math.ceil(delay / 1000)} s`);
    this.retryTimer = setTimeout(() => { this.retryTimer = null; void this.open(); }, delay);
  }

  retryNow(): void {
    if (this.state !== 'waiting' || !this.retryTimer) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void this.open();
  }

  private schedulePing(ms: number): void {
    this.stopPing();
    this.pingTimer = setTimeout(() => {
      this.sendHeartbeat();
      this.schedulePing(this.clock.nextPingDelayMs());
    }, ms);
  }
  private stopPing(): void {
    if (this.pingTimer) clearTimeout(this.pingTimer);
    this.pingTimer = null;
  }
  private sendHeartbeat(): void {
    const c = this.clock;
    this.send({
      case: 'heartbeatMessage',
      value: {
        timestamp: BigInt(Math.round(nowLocalUs())),
        clock: create(ClockSyncStatusSchema, {
          synced: c.synced, offsetUs: BigInt(Math.round(c.offsetUs)),
          errorBoundUs: BigInt(Math.round(Math.min(c.errorBoundUs, 1e12))), skewPpm: c.skewPpm,
        }),
        // The link figures (PROTOCOL.md, "Connection quality"), once the clock is synced.
        quality: c.synced && this.quality ? create(ConnectionQualitySchema, this.quality()) : undefined,
      },
    });
  }

  get isOpen(): boolean { return this.welcomed && this.ws?.readyState === WebSocket.OPEN; }

  // Sends a request; returns its request id ('' when not connected: nothing is queued,
  // a dead connection's requests are not replayed later).
  send(message: NonNullable<RequestInit>, withId = false): string {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return '';
    const id = withId ? `r${this.nextRequest++}` : '';
    this.ws.send(encodeRequest(message, id));
    return id || 'sent';
  }

  // One MIDI batch, numbered, on the primary and on the link: the server takes the first
  // copy (PROTOCOL.md §16); without a link the number is simply unused.
  sendMidi(value: { midiData: Uint8Array; timestamp: bigint }): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    const frame = encodeRequest({ case: 'midiMessage', value: { ...value, sequence: ++this.midiSequence } });
    this.ws.send(frame);
    this.link.sendCopy(frame);
    return true;
  }

  stop(): void {
    this.link.stop();
    this.identity = null;
    this.resume.reset();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopPing();
    const ws = this.ws;
    if (ws) { ws.close(1000, 'bye'); } else { this.setState('closed', 'disconnected'); }
  }
}

// One logical connection to tutti-server: it fetches /api/server-info, seals a fresh
// payload for every attempt, keeps the heartbeat / clock-sync exchange going, decodes
// frames and reconnects with backoff (backoff.ts) after any close it did not ask for.
// Main thread only; owned by the App (ui/app.ts).
import { create } from '@bufbuild/protobuf';
import { ClockSyncStatusSchema, ConnectionQualitySchema, type ClientMessage } from '../gen/tutti_pb.js';
import { backoffDelayMs } from './backoff.js';
import { connectUrl, type Identity, parseServerInfo, type ServerInfo, sodiumReady } from './auth.js';
import { decodeReply, encodeRequest, type RequestInit } from './proto.js';
import type { ClockSync } from '../playout/timing.js';

export type ConnState = 'idle' | 'connecting' | 'open' | 'waiting' | 'closed';

export interface ConnEvents {
  state(s: ConnState, detail: string): void;
  message(m: ClientMessage, arrivalLocalUs: number): void;
  opened(first: boolean): void;  // Welcome received
  dropped(): void;               // an open connection was lost
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
  // Set by the App: what to report in HeartbeatMessage.quality.
  quality: (() => { rttUs: number; offsetErrorUs: number; latePercent: number; droppedPercent: number }) | null = null;

  constructor(private clock: ClockSync, private events: ConnEvents,
              private wsOrigin: string, private infoUrl = '/api/server-info') {}

  async fetchInfo(): Promise<ServerInfo> {
    await sodiumReady();
    const r = await fetch(this.infoUrl, { cache: 'no-store' });
    if (!r.ok) throw new Error(`server-info: HTTP ${r.status}`);
    this.info = parseServerInfo(await r.json());
    return this.info;
  }

  start(identity: Identity): void {
    this.identity = identity;
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
      url = connectUrl(info, this.identity, this.wsOrigin);
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
      if (m.message.case === 'heartbeatMessage') {
        const h = m.message.value;
        this.clock.onExchange(Number(h.timestamp), Number(h.serverReceiveTime),
                              Number(h.serverSendTime), at);
      } else if (m.message.case === 'welcome' && !this.welcomed) {
        this.welcomed = true;
        const first = !this.everWelcomed;
        this.everWelcomed = true;
        this.attempt = 0;
        this.setState('open', 'connected');
        this.clock.reset();
        this.schedulePing(0);
        this.events.message(m, at);
        this.events.opened(first);
        return;
      }
      this.events.message(m, at);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopPing();
      const wasOpen = this.welcomed;
      this.welcomed = false;
      if (wasOpen) this.events.dropped();
      if (!this.identity) { this.setState('closed', 'disconnected'); return; }
      if (ev.code === 4003) { this.setState('closed', 'banned by a server administrator'); return; }
      // The token ran out (PROTOCOL.md 4004): retrying with it would only be refused.
      if (ev.code === 4004) { this.identity = null; this.setState('closed', SESSION_EXPIRED); return; }
      this.scheduleRetry(wasOpen ? `connection lost (${ev.code})` : 'connect refused');
    };
  }

  // A refreshed token (UPDATE_PERMISSIONS) replaces the one later attempts seal.
  updateToken(token: string): void {
    if (this.identity?.token) this.identity = { ...this.identity, token };
  }

  private scheduleRetry(why: string): void {
    const delay = backoffDelayMs(this.attempt++);
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

  stop(): void {
    this.identity = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopPing();
    const ws = this.ws;
    if (ws) { ws.close(1000, 'bye'); } else { this.setState('closed', 'disconnected'); }
  }
}

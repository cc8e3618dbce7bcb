// ResumeState: what the page keeps to resume its session after a drop (PROTOCOL.md §12),
// the same rule as the native clients (tools/client/resume_state.h): the latest resume
// token (memory only, never logged or stored), the room the page is in and the last
// (epoch, offset) it processed there; and which received messages are the replayed
// history a RESUME_RECOVERED answer announced rather than live events. Pure (no DOM, no
// socket), so the unit tests drive it with decoded messages. Main thread only; owned by
// the Connection (net/connection.ts), one per logical session across its connections.
import { type ClientMessage, ResumeOutcome } from '../gen/tutti_pb.js';

// live: a live message; replayed: one of the events the answer said would follow;
// duplicate: a room event at or before a position already processed (dropped).
export type MessageKind = 'live' | 'replayed' | 'duplicate';

// The keys a resume adds to the sealed payload (AUTH.md, PROTOCOL.md §12).
export interface ResumeFields {
  resume_token: string;
  resume_room: string;
  resume_epoch: string;
  resume_offset: number;
}

export class ResumeState {
  private token = '';
  roomId = '';
  epoch = '';
  offset = 0n;
  private replayLeft = 0;
  lastOutcome: ResumeOutcome = ResumeOutcome.RESUME_OUTCOME_UNSPECIFIED;

  get hasToken(): boolean { return this.token !== ''; }

  // Every message received, in order, on every connection.
  observe(m: ClientMessage): MessageKind {
    const v = m.message;
    switch (v.case) {
      case 'welcome':
        // A RECONNECT keeps the connection's own token, so only a Welcome replaces it.
        if (v.value.resumeToken) this.token = v.value.resumeToken;
        break;
      case 'roomJoinedResponse':
        if (v.value.success) this.setPosition(v.value.roomInfo?.roomId ?? '', v.value.streamPosition);
        break;
      case 'roomLeft':
        if (v.value.roomId === this.roomId) this.setPosition('', undefined);
        break;
      case 'roomSnapshot':
        if (v.value.roomInfo?.roomId === this.roomId) this.setPosition(this.roomId, v.value.streamPosition);
        break;
      case 'resumeResult': {
        const r = v.value;
        this.lastOutcome = r.outcome;
        this.replayLeft = 0;
        if (r.outcome === ResumeOutcome.RESUME_REFUSED || r.roomId === '') {
          this.setPosition('', undefined);
        } else if (r.outcome === ResumeOutcome.RESUME_RECOVERED) {
          this.roomId = r.roomId;
          this.replayLeft = r.replayed;
        } else {
          this.setPosition(r.roomId, r.snapshot?.streamPosition);
        }
        return 'live';
      }
      default:
        break;
    }
    const s = m.stream;
    if (s && this.roomId !== '') {
      // A room's epoch cannot change while the page is in it (it would have to empty
      // first), so another epoch is a late event of a room the page just switched from.
      if (this.epoch !== '' && s.epoch !== this.epoch) return 'live';
      // At or before what was processed: already applied, never twice.
      if (s.offset <= this.offset) return 'duplicate';
      this.epoch = s.epoch;
      this.offset = s.offset;
      if (this.replayLeft > 0) {
        this.replayLeft--;
        return 'replayed';
      }
    }
    return 'live';
  }

  // The resume keys for the next connect, or null without a token.
  fields(): ResumeFields | null {
    if (!this.token) return null;
    return { resume_token: this.token, resume_room: this.roomId, resume_epoch: this.epoch,
             resume_offset: Number(this.offset) };
  }

  // The connection is gone: replay bookkeeping stops (a new answer restarts it).
  onDisconnected(): void { this.replayLeft = 0; }

  // A new logical session (another identity, or the user disconnected): forget it all.
  reset(): void {
    this.token = '';
    this.setPosition('', undefined);
    this.replayLeft = 0;
    this.lastOutcome = ResumeOutcome.RESUME_OUTCOME_UNSPECIFIED;
  }

  private setPosition(roomId: string, p: { epoch: string; offset: bigint } | undefined): void {
    this.roomId = roomId;
    this.epoch = p?.epoch ?? '';
    this.offset = p?.offset ?? 0n;
  }
}

// RoomRequestGate: nothing room-related goes out between a resume's Welcome and its
// ResumeResult (PROTOCOL.md §12: a join sent meanwhile wins, and the answer would then
// make the page join a second time or drop the room it just joined). A room request the
// user makes meanwhile (join, create, the lobby button, leave) is held, the latest
// replacing any earlier, and made once the answer is applied. Pure; main thread; owned
// by the ResumeView (ui/resume_view.ts).
export class RoomRequestGate {
  private holding = false;
  private held: (() => void) | null = null;

  // A resume's Welcome came and its answer has not: room requests wait.
  get awaiting(): boolean { return this.holding; }

  hold(): void { this.holding = true; this.held = null; }

  // Makes the request now, or holds it (replacing one held before); true when made now.
  request(send: () => void): boolean {
    if (!this.holding) { send(); return true; }
    this.held = send;
    return false;
  }

  // The answer came: requests go out again; returns the one held meanwhile, for the
  // caller to make once it has applied the answer.
  release(): (() => void) | null {
    const h = this.held;
    this.holding = false;
    this.held = null;
    return h;
  }

  // The connection is gone before the answer: a held request is forgotten, as any
  // request on a dead connection (Connection.send); the wanted room stays the page's.
  drop(): void { this.holding = false; this.held = null; }
}

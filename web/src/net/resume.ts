// ResumeState: what the page keeps to resume its session after a drop (PROTOCOL.md §12),
// the same rule as the native clients (tools/client/resume_state.h): the latest resume
// token (memory only, never logged or stored), the room the page is in and the last
// (epoch, offset) it processed there; and which received messages are the replayed
// history a RESUME_RECOVERED answer announced rather than live events. Pure (no DOM, no
// socket), so the unit tests drive it with decoded messages. With a linked connection
// (PROTOCOL.md §16) the same room events come on two sockets: it is also where the first
// copy of each (epoch, offset) is taken and the other dropped, whichever socket brings
// it. Main thread only; owned by the Connection (net/connection.ts), one per logical
// session across its connections.
import { type ClientMessage, ResumeOutcome } from '../gen/tutti_pb.js';

// live: a live message; replayed: one of the events the answer said would follow;
// duplicate: a room event already processed (dropped), or a link's copy that cannot be
// placed yet (the primary carries it too).
export type MessageKind = 'live' | 'replayed' | 'duplicate';

// How many offsets below the highest processed are remembered one by one. Each socket
// delivers in order, so the two copies of an event are never far apart; a link skips
// events only under its own backpressure (PROTOCOL.md §16), and the primary then brings
// them a little after the link's later ones. Anything further below is taken as done.
export const DEDUPE_WINDOW = 1024n;

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
  offset = 0n;  // the highest offset processed in `epoch`
  // Offsets processed above `floor` (all at or below it count as processed): a link's
  // copy may come first, so "at or below the highest" is not "processed" any more.
  private floor = 0n;
  private seen = new Set<bigint>();
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
      // Already processed (by either socket): applied once, never twice.
      if (!this.take(s.epoch, s.offset)) return 'duplicate';
      if (this.replayLeft > 0) {
        this.replayLeft--;
        return 'replayed';
      }
    }
    return 'live';
  }

  // A room event that came on the linked connection. Taken only when it can be placed in
  // the room the page is in, at a known position: a link's event of a room the page is
  // entering (its join's answer is still on its way on the primary), leaving, or has no
  // position in is dropped, and the primary's copy is applied in its turn. Never
  // 'replayed': a link carries live events only.
  observeLink(m: ClientMessage): MessageKind {
    const s = m.stream;
    if (!s || this.roomId === '' || this.epoch === '' || s.epoch !== this.epoch) return 'duplicate';
    return this.take(s.epoch, s.offset) ? 'live' : 'duplicate';
  }

  // Marks (epoch, offset) processed; false when it was already.
  private take(epoch: string, offset: bigint): boolean {
    if (offset <= this.floor || this.seen.has(offset)) return false;
    this.epoch = epoch;
    this.seen.add(offset);
    if (offset > this.offset) {
      this.offset = offset;
      if (offset - DEDUPE_WINDOW > this.floor) this.floor = offset - DEDUPE_WINDOW;
      // Entries at or below the floor are moot; they are swept now and then, not per event.
      if (this.seen.size > 2 * Number(DEDUPE_WINDOW)) {
        for (const o of this.seen) if (o <= this.floor) this.seen.delete(o);
      }
    }
    return true;
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
    this.floor = this.offset;
    this.seen.clear();
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

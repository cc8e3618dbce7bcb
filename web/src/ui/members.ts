// RoomMembers: the people in the room this page is in, keyed by sender (user id + session
// id, the key the player and the piano use), with the lookups the controller needs.
// Main thread only; owned by the App, cleared whenever the page leaves or loses its room.
import { type UserInfo, UserStatus } from '../gen/tutti_pb.js';
import { senderKey } from '../audio/player.js';
import type { Member } from './room_view.js';

export class RoomMembers {
  private readonly byKey = new Map<string, Member>();

  get(key: string): Member | undefined { return this.byKey.get(key); }
  of(userId: string, sessionId: bigint): Member | undefined { return this.byKey.get(senderKey(userId, sessionId)); }
  delete(key: string): void { this.byKey.delete(key); }
  clear(): void { this.byKey.clear(); }
  values(): IterableIterator<Member> { return this.byKey.values(); }

  // Adds or replaces a member from the server's view of it (status from its avatar).
  add(u: UserInfo): void {
    this.byKey.set(senderKey(u.userId, u.sessionId),
      { info: u, status: u.avatar?.status ?? UserStatus.ONLINE, statusText: u.avatar?.statusText ?? '' });
  }

  // A member back under a new session id (a resume): re-keyed in its place in the list,
  // status kept.
  rekey(oldKey: string, u: UserInfo): void {
    const old = this.byKey.get(oldKey);
    const key = senderKey(u.userId, u.sessionId);
    const m: Member = { info: u, status: old?.status ?? u.avatar?.status ?? UserStatus.ONLINE,
                        statusText: old?.statusText ?? u.avatar?.statusText ?? '' };
    if (!old) { this.byKey.set(key, m); return; }
    const entries = [...this.byKey.entries()].flatMap(([k, v]): [string, Member][] =>
      k === oldKey ? [[key, m]] : k === key ? [] : [[k, v]]);
    this.byKey.clear();
    for (const [k, v] of entries) this.byKey.set(k, v);
  }

  // A display name for system lines (a guest's id means nothing to people); the id when
  // nobody in the room has it.
  nameOf(userId: string): string {
    for (const m of this.byKey.values()) if (m.info.userId === userId) return m.info.username || userId;
    return userId;
  }
}

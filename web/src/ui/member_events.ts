// What the room's other members do, as the page shows it: joins and leaves, room
// updates, status, look and link quality changes, moderation and panic notices (the room
// events that only touch the member list, the room header and the sound). Split from
// App.onMessage, which hands each such message here; it edits the App's room state
// (members, room, player). Main thread only; called by the App that owns that state.
import type { ClientMessage } from '../gen/tutti_pb.js';
import { senderKey } from '../audio/player.js';
import type { App } from './app.js';
import { $ } from './dom.js';
import { systemLine } from './room_view.js';

export function onMemberEvent(app: App, v: ClientMessage['message']): void {
  switch (v.case) {
    case 'userJoinedRoom': {
      const u = v.value.userInfo!;
      app.members.add(u);
      systemLine(`${u.username} joined`);
      app.redrawUsers();
      break;
    }
    case 'userLeftRoom': {
      const key = senderKey(v.value.userId, v.value.sessionId);
      const who = app.members.get(key);
      app.members.delete(key);
      app.player?.removeSender(v.value.userId, v.value.sessionId);
      systemLine(`${who?.info.username ?? v.value.userId} left (${v.value.reason})`);
      app.redrawUsers();
      break;
    }
    case 'roomUpdated':
      if (v.value.roomInfo && app.room) {
        app.room = v.value.roomInfo;
        $('room-topic').textContent = app.room.topic;
        app.redrawUsers();
      }
      break;
    case 'userStatusUpdate': {
      for (const mem of app.members.values()) {
        if (mem.info.userId === v.value.userId) { mem.status = v.value.status; mem.statusText = v.value.statusText; }
      }
      app.redrawUsers();
      break;
    }
    case 'avatarCommand': {
      const mem = app.members.of(v.value.userId, v.value.sessionId);
      if (mem && v.value.avatarData) { mem.info.avatar = v.value.avatarData; app.redrawUsers(); }
      break;
    }
    case 'moderationNotice': {
      const n = v.value;
      systemLine(`moderation: ${n.actorUserId} → ${n.targetUserId}${n.reason ? ` (${n.reason})` : ''}`);
      break;
    }
    case 'panicNotice': {
      // Everyone's panic, or ours: silence every voice here (the releases already came).
      const p = v.value;
      if (!p.targetUserId || p.targetSessionId === app.me?.sessionId) { app.player?.releaseEverything(); app.midi.silenceOutput(); }
      systemLine(p.targetUserId ? `${app.members.nameOf(p.targetUserId)} sent all notes off` : `${app.members.nameOf(p.actorUserId)} sent all notes off for everyone`);
      break;
    }
    case 'memberQuality': {
      const mem = app.members.of(v.value.userId, v.value.sessionId);
      if (mem) { mem.info.quality = v.value.quality; app.redrawUsers(); }
      break;
    }
    default: break;
  }
}

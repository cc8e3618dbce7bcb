// What a chat line means: a private message (/w, /pm, /msg), a status change (/status,
// handled as a UserStatusUpdate so the status picker follows), the page's own help
// (/help shows it and the server's list), or a line for the room (slash commands go to
// the server as they are: docs/MODERATION.md). Pure; unit-tested.
import { UserStatus } from '../gen/tutti_pb.js';

export type ChatInput =
  | { kind: 'empty' }
  | { kind: 'pm'; to: string; text: string }
  | { kind: 'status'; status: UserStatus; text: string }
  | { kind: 'room'; text: string }
  | { kind: 'localHelp'; text: string };

export const LOCAL_HELP = [
  'Page commands: /w <name> <text> (also /pm, /msg) whispers; /status online|away|busy|invisible [text];',
  '/help lists the server\'s commands below (moderators: /kick, /ban, /mute, /topic, /clear, …).',
  'Keys: Z–M and Q–P play, ← → shift the octave, space is the sustain pedal.',
].join('\n');

const STATUSES: Record<string, UserStatus> = {
  online: UserStatus.ONLINE, away: UserStatus.AWAY, busy: UserStatus.BUSY, invisible: UserStatus.INVISIBLE,
};

export function parseChatInput(line: string): ChatInput {
  const text = line.trim();
  if (!text) return { kind: 'empty' };
  const m = /^\/(w|pm|msg|whisper)\s+(\S+)\s+([\s\S]+)$/i.exec(text);
  if (m) return { kind: 'pm', to: m[2], text: m[3] };
  const s = /^\/status\s+(\w+)\s*([\s\S]*)$/i.exec(text);
  if (s && STATUSES[s[1].toLowerCase()] !== undefined) {
    return { kind: 'status', status: STATUSES[s[1].toLowerCase()], text: s[2] };
  }
  if (/^\/help\s*$/i.test(text)) return { kind: 'localHelp', text };
  return { kind: 'room', text };
}

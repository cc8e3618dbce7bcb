// The page's resume bookkeeping (src/net/resume.ts), the rule of tools/client/resume_state.h:
// the token of the latest Welcome, the room and last (epoch, offset) processed, which
// messages are replayed history, duplicates dropped; the payload keys it adds; and the
// wait a drain's 1001 close asks for (src/net/backoff.ts); room requests held between a
// resume's Welcome and its answer (RoomRequestGate).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { ClientMessageSchema, ResumeOutcome } from '../src/gen/tutti_pb.js';
import { ResumeState, RoomRequestGate } from '../src/net/resume.js';
import { payloadFor, sodiumReady } from '../src/net/auth.js';
import { delayAfterCloseMs, reconnectHintMs } from '../src/net/backoff.js';

type Init = MessageInitShape<typeof ClientMessageSchema>;
const msg = (init: Init) => create(ClientMessageSchema, init);
const chat = (epoch: string, offset: bigint, text = 'x') =>
  msg({ message: { case: 'roomChatMessage', value: { message: text } }, stream: { epoch, offset } });
const welcome = (token: string) => msg({ message: { case: 'welcome', value: { resumeToken: token } } });
const joined = (roomId: string, epoch: string, offset: bigint) => msg({ message: { case: 'roomJoinedResponse',
  value: { success: true, roomInfo: { roomId }, streamPosition: { epoch, offset } } } });

test('no token, no resume keys; the Welcome token and the room position fill them', () => {
  const r = new ResumeState();
  assert.equal(r.fields(), null);
  r.observe(welcome('tok-1'));
  assert.deepEqual(r.fields(), { resume_token: 'tok-1', resume_room: '', resume_epoch: '', resume_offset: 0 });
  r.observe(joined('jam', 'E1', 7n));
  assert.equal(r.observe(chat('E1', 8n)), 'live');
  assert.equal(r.observe(chat('E1', 10n)), 'live');  // a gap (own events are skipped) is still live
  assert.deepEqual(r.fields(), { resume_token: 'tok-1', resume_room: 'jam', resume_epoch: 'E1', resume_offset: 10 });
  // A welcome without a token (resume off) keeps the old one; a new one replaces it.
  r.observe(welcome(''));
  assert.equal(r.fields()?.resume_token, 'tok-1');
  r.observe(welcome('tok-2'));
  assert.equal(r.fields()?.resume_token, 'tok-2');
});

test('a recovered resume marks exactly the announced events replayed, then live ones', () => {
  const r = new ResumeState();
  r.observe(welcome('t'));
  r.observe(joined('jam', 'E1', 3n));
  r.observe(msg({ message: { case: 'resumeResult', value: { outcome: ResumeOutcome.RESUME_RECOVERED, roomId: 'jam', replayed: 2 } } }));
  assert.equal(r.observe(chat('E1', 4n)), 'replayed');
  assert.equal(r.observe(msg({ message: { case: 'heartbeatMessage', value: {} } })), 'live');  // not a room event
  assert.equal(r.observe(chat('E1', 5n)), 'replayed');
  assert.equal(r.observe(chat('E1', 6n)), 'live');
  // Already processed: dropped, never applied twice; the position does not go back.
  assert.equal(r.observe(chat('E1', 6n)), 'duplicate');
  assert.equal(r.observe(chat('E1', 2n)), 'duplicate');
  assert.equal(r.fields()?.resume_offset, 6);
  // A drop stops the replay count: a new answer restarts it.
  r.observe(msg({ message: { case: 'resumeResult', value: { outcome: ResumeOutcome.RESUME_RECOVERED, roomId: 'jam', replayed: 5 } } }));
  r.onDisconnected();
  assert.equal(r.observe(chat('E1', 7n)), 'live');
});

test('unrecoverable takes the snapshot position; refused or no room forgets the room', () => {
  const r = new ResumeState();
  r.observe(welcome('t'));
  r.observe(joined('jam', 'E1', 30n));
  r.observe(msg({ message: { case: 'resumeResult', value: { outcome: ResumeOutcome.RESUME_UNRECOVERABLE, roomId: 'jam',
    snapshot: { streamPosition: { epoch: 'E2', offset: 4n } } } } }));
  assert.deepEqual(r.fields(), { resume_token: 't', resume_room: 'jam', resume_epoch: 'E2', resume_offset: 4 });
  assert.equal(r.observe(chat('E2', 5n)), 'live');
  // A late event of another epoch (a room just left) does not move the position.
  assert.equal(r.observe(chat('E9', 50n)), 'live');
  assert.equal(r.fields()?.resume_epoch, 'E2');
  r.observe(msg({ message: { case: 'resumeResult', value: { outcome: ResumeOutcome.RESUME_REFUSED, reason: 'token expired' } } }));
  assert.deepEqual(r.fields(), { resume_token: 't', resume_room: '', resume_epoch: '', resume_offset: 0 });
  assert.equal(r.lastOutcome, ResumeOutcome.RESUME_REFUSED);
  r.reset();
  assert.equal(r.fields(), null);
});

test('leaving the room clears the position; the payload carries the resume keys', async () => {
  await sodiumReady();
  const r = new ResumeState();
  r.observe(welcome('t'));
  r.observe(joined('jam', 'E1', 3n));
  r.observe(msg({ message: { case: 'roomLeft', value: { roomId: 'jam', reason: 'left' } } }));
  assert.equal(r.fields()?.resume_room, '');
  r.observe(joined('jam', 'E1', 9n));
  const p = payloadFor({ name: 'Ann' }, 1000, r.fields());
  assert.equal(p.username, 'Ann');
  assert.equal(p.resume_token, 't');
  assert.equal(p.resume_room, 'jam');
  assert.equal(p.resume_epoch, 'E1');
  assert.equal(p.resume_offset, 9);
  assert.equal(payloadFor({ name: 'Ann' }, 1000).resume_token, undefined);
});

test('a drain close says when to come back; other closes keep the usual backoff', () => {
  assert.equal(reconnectHintMs(1001, 'server maintenance; reconnect in 30 s', 0), 30000);
  assert.equal(reconnectHintMs(1001, 'server shutting down', 0), 0);
  assert.equal(reconnectHintMs(1001, 'server shutting down', 5000), 5000);  // the DRAIN notice's hint
  assert.equal(reconnectHintMs(1006, 'reconnect in 30 s', 5000), 0);
  assert.equal(delayAfterCloseMs(0, 0, () => 1), 1000);
  assert.equal(delayAfterCloseMs(0, 30000, () => 0), 30000);
  assert.equal(delayAfterCloseMs(0, 30000, () => 1), 31000);
  assert.ok(delayAfterCloseMs(10, 2000, () => 1) >= 30000, 'never sooner than the usual backoff');
});

test('room requests wait for the resume answer; the latest one goes out after it, once', () => {
  const g = new RoomRequestGate();
  const sent: string[] = [];
  assert.equal(g.awaiting, false);
  assert.equal(g.request(() => sent.push('join a')), true, 'no resume pending: made at once');
  assert.deepEqual(sent, ['join a']);
  g.hold();  // a resume's Welcome
  assert.equal(g.awaiting, true);
  assert.equal(g.request(() => sent.push('lobby')), false);
  assert.equal(g.request(() => sent.push('join b')), false);
  assert.deepEqual(sent, ['join a'], 'nothing room-related before the answer');
  const held = g.release();  // the ResumeResult
  assert.equal(g.awaiting, false);
  assert.ok(held);
  held();
  assert.deepEqual(sent, ['join a', 'join b'], 'only the latest wish');
  assert.equal(g.release(), null, 'released once');
  assert.equal(g.request(() => sent.push('leave')), true);
  assert.deepEqual(sent, ['join a', 'join b', 'leave']);
});

test('a drop before the answer forgets the held request; a new Welcome starts empty', () => {
  const g = new RoomRequestGate();
  const sent: string[] = [];
  g.hold();
  g.request(() => sent.push('join a'));
  g.drop();
  assert.equal(g.awaiting, false);
  assert.equal(g.release(), null);
  g.hold();
  assert.equal(g.release(), null, 'nothing carried over from the dead connection');
  g.hold();
  g.request(() => sent.push('join b'));
  g.hold();  // another resume's Welcome (the previous connection dropped unnoticed)
  assert.equal(g.release(), null);
  assert.deepEqual(sent, []);
});

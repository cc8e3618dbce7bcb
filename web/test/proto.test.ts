// Round trips of the wire envelopes through the generated classes (src/gen), and the
// rules PROTOCOL.md §2 sets on them: message_type names the oneof, request_id is kept,
// 64-bit fields stay exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  ClientMessage_MessageType, ClientMessageSchema, RoomType, ServerMessage_MessageType,
} from '../src/gen/tutti_pb.js';
import { decodeReply, decodeRequest, encodeRequest } from '../src/net/proto.js';

test('every request kind encodes with the message_type of its oneof', () => {
  const cases: [Parameters<typeof encodeRequest>[0], ServerMessage_MessageType][] = [
    [{ case: 'createRoomCommand', value: { roomName: 'Jam', roomType: RoomType.PRIVATE, password: 'pw',
       settings: { maxUsers: 7, allowChat: true, welcomeMessage: 'hi', persistent: true } } },
     ServerMessage_MessageType.CreateRoomCommand],
    [{ case: 'joinRoomByName', value: { roomName: 'Jam', password: 'x' } }, ServerMessage_MessageType.JoinRoomByName],
    [{ case: 'leaveRoom', value: {} }, ServerMessage_MessageType.LeaveRoom],
    [{ case: 'getRoomList', value: {} }, ServerMessage_MessageType.GetRoomList],
    [{ case: 'roomChatMessage', value: { message: 'héllo /w' } }, ServerMessage_MessageType.RoomChatMessage],
    [{ case: 'privateMessage', value: { toUserId: 'Bob', message: 'psst' } }, ServerMessage_MessageType.PrivateMessage],
    [{ case: 'joinNextAvailableLobby', value: {} }, ServerMessage_MessageType.JoinNextAvailableLobby],
    [{ case: 'userStatusUpdate', value: { status: 2, statusText: 'brb' } }, ServerMessage_MessageType.UserStatusUpdate],
    [{ case: 'heartbeatMessage', value: { timestamp: 123456789012345n } }, ServerMessage_MessageType.HeartbeatMessage],
  ];
  for (const [msg, type] of cases) {
    const back = decodeRequest(encodeRequest(msg, 'r7'));
    assert.equal(back.messageType, type, `message_type of ${msg.case}`);
    assert.equal(back.message.case, msg.case);
    assert.equal(back.requestId, 'r7');
  }
});

test('a MIDI batch keeps its bytes, its 64-bit timestamp and its events', () => {
  const ts = 9007199254740993n;  // above 2^53: a double would round it
  const bytes = encodeRequest({ case: 'midiMessage', value: {
    midiData: new Uint8Array([0x90, 60, 100, 0xb0, 64, 127]), timestamp: ts,
    events: [{ data: new Uint8Array([0x80, 60, 0]), delayUs: 250000 }] } });
  const back = decodeRequest(bytes);
  assert.equal(back.message.case, 'midiMessage');
  const m = back.message.value as { midiData: Uint8Array; timestamp: bigint; events: { data: Uint8Array; delayUs: number }[] };
  assert.deepEqual([...m.midiData], [0x90, 60, 100, 0xb0, 64, 127]);
  assert.equal(m.timestamp, ts);
  assert.equal(m.events.length, 1);
  assert.deepEqual([...m.events[0].data], [0x80, 60, 0]);
  assert.equal(m.events[0].delayUs, 250000);
});

test('server messages decode: Welcome, snapshot, chat', () => {
  const welcome = create(ClientMessageSchema, {
    messageType: ClientMessage_MessageType.Welcome,
    message: { case: 'welcome', value: { user: { userId: 'guest:0123456789abcdef', username: 'Al',
      isGuest: true, sessionId: 18446744073709551615n }, serverTime: 42n, serverVersion: '1.2' } },
  });
  const w = decodeReply(toBinary(ClientMessageSchema, welcome));
  assert.equal(w.message.case, 'welcome');
  const wv = w.message.value as { user: { sessionId: bigint; username: string }; serverTime: bigint };
  assert.equal(wv.user.sessionId, 18446744073709551615n);
  assert.equal(wv.user.username, 'Al');
  const snap = create(ClientMessageSchema, { message: { case: 'heldNotesSnapshot', value: {
    userId: 'u', sessionId: 3n, notes: [{ channel: 1, note: 64, velocity: 90 }], sustainChannels: 2 } } });
  const s = decodeReply(toBinary(ClientMessageSchema, snap));
  assert.equal(s.message.case, 'heldNotesSnapshot');
  const sv = s.message.value as { notes: { note: number }[]; sustainChannels: number };
  assert.equal(sv.notes[0].note, 64);
  assert.equal(sv.sustainChannels, 2);
});

test('a truncated frame is refused with an exception, not a half-filled message', () => {
  assert.throws(() => decodeReply(new Uint8Array([0x12, 0x0a, 0x01, 0x02])));
});

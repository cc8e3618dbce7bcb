// What a chat line means (ui/commands.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserStatus } from '../src/gen/tutti_pb.js';
import { parseChatInput } from '../src/ui/commands.js';

test('whispers, statuses, help and room lines', () => {
  assert.deepEqual(parseChatInput('/w Bob hello there'), { kind: 'pm', to: 'Bob', text: 'hello there' });
  assert.deepEqual(parseChatInput('/pm bob hi'), { kind: 'pm', to: 'bob', text: 'hi' });
  assert.deepEqual(parseChatInput('/status away lunch'), { kind: 'status', status: UserStatus.AWAY, text: 'lunch' });
  assert.equal(parseChatInput('/help').kind, 'localHelp');
  assert.deepEqual(parseChatInput('/kick bob'), { kind: 'room', text: '/kick bob' });
  assert.deepEqual(parseChatInput('/status sleepy'), { kind: 'room', text: '/status sleepy' });
  assert.deepEqual(parseChatInput('  hi  '), { kind: 'room', text: 'hi' });
  assert.equal(parseChatInput('   ').kind, 'empty');
  assert.deepEqual(parseChatInput('/w bob'), { kind: 'room', text: '/w bob' });
});

#!/usr/bin/env node
// Browser test: the web client's side of the protocol in a real browser. A page served
// from 127.0.0.1 runs in Debian's Chromium (driven by playwright-core), loads
// protos/tutti.proto with protobufjs, opens the WebSocket at the connect URL a site's
// backend would hand it (minted here by tutti-token, as PianoRhythm's site seals the
// payload for its page), and plays in a room with a second client (Node, `ws`). It
// proves what the Node interop test cannot: a browser's upgrade request (its Origin,
// its extension offers) is accepted, binary frames arrive as ArrayBuffers the page can
// decode, and what the page encodes is what the server relays.
//
//   node browser_test.mjs --server PATH/TO/tutti-server --token PATH/TO/tutti-token
//                         [--chromium /usr/bin/chromium] [--verbose]
//
// Exits 0 on success or 1 naming the failed check. The server, the HTTP server and the
// browser it started are always stopped, the temporary directory removed (harness.mjs).

import { STEP_TIMEOUT_MS, check, eq, main, pageWait } from './harness.mjs';

await main('browser', async (env) => {
  const port = await env.startServer();
  const httpPort = await env.startHttp();
  env.log(`server on ${port}, page server on ${httpPort}`);

  const page = await env.openPage(
      `http://127.0.0.1:${httpPort}/client.html?ws=${encodeURIComponent(env.mint('web', port))}`);

  // Welcome: the upgrade was accepted and the page decodes binary frames.
  const welcome = await pageWait(page, 'welcome', 'Welcome');
  eq(welcome.user.user_id, 'u-web', 'Welcome.user.user_id');
  const webSession = welcome.user.session_id;
  await page.evaluate(() => window.tutti.send({
    message_type: 'CreateRoomCommand', request_id: 'create',
    create_room_command: { room_name: 'Browser Room', room_type: 'PUBLIC' } }));
  const created = await pageWait(page, 'room_joined_response', 'the page\'s room');
  check(created.success, `the page created its room: ${JSON.stringify(created)}`);
  const roomId = created.room_info.room_id;
  console.log('browser: ok - Chromium connected, decoded Welcome and created a room');

  // A Node peer joins; the page sees it arrive.
  const peer = env.peer(env.mint('node', port));
  await peer.waitCase('welcome', 'the peer\'s Welcome');
  peer.send({ message_type: 'JoinRoomByName', request_id: 'join',
              join_room_by_name: { room_name: 'browser room' } });
  const joined = await peer.waitCase('room_joined_response', 'the peer\'s join');
  check(joined.success, 'peer joined the page\'s room');
  check(joined.current_users.some((u) => u.user_id === 'u-web'),
        'the peer sees the page\'s user in the room');
  const arrival = await pageWait(page, 'user_joined_room', 'UserJoinedRoom for the peer');
  eq(arrival.user_info.user_id, 'u-node', 'page: UserJoinedRoom.user_info.user_id');

  // What the page encodes is what the peer gets: a chat line and a note.
  await page.evaluate(() => {
    window.tutti.send({ message_type: 'RoomChatMessage', request_id: 'chat',
                        room_chat_message: { message: 'hello from chromium' } });
    window.tutti.send({ message_type: 'MidiMessage',
                        midi_message: { midi_data: [0x90, 60, 100], timestamp: 0 } });
  });
  const line = await peer.waitCase('room_chat_message', 'the page\'s chat line');
  eq(line.message, 'hello from chromium', 'peer: chat text');
  eq(line.user_id, 'u-web', 'peer: chat user_id');
  eq(line.session_id, webSession, 'peer: chat session_id');
  const note = await peer.waitCase('midi_message', 'the page\'s note');
  eq(Buffer.from(note.midi_data).toString('hex'), '903c64', 'peer: midi_data');
  eq(note.user_id, 'u-web', 'peer: midi user_id');
  check(BigInt(note.room_time) > 0n, 'peer: the note carries room_time');
  console.log('browser: ok - the page\'s chat line and note reached the Node peer');

  // And the other way: the page decodes what the server relays from the peer.
  peer.send({ message_type: 'RoomChatMessage', room_chat_message: { message: 'hello page' } });
  peer.send({ message_type: 'MidiMessage',
              midi_message: { midi_data: Buffer.from([0x90, 64, 90]), timestamp: 0 } });
  const back = await pageWait(page, 'room_chat_message', 'the peer\'s chat line',
                              'm.user_id === "u-node"');
  eq(back.message, 'hello page', 'page: chat text');
  const backNote = await pageWait(page, 'midi_message', 'the peer\'s note',
                                  'm.user_id === "u-node"');
  eq(JSON.stringify(backNote.midi_data), JSON.stringify([0x90, 64, 90]), 'page: midi_data');
  console.log('browser: ok - the page received the peer\'s chat line and note');

  // A clean close from the page: the peer sees the page's user leave.
  await page.evaluate(() => window.tutti.close());
  await page.waitForFunction(() => window.tutti.closed !== null, null,
                             { timeout: STEP_TIMEOUT_MS });
  eq((await page.evaluate(() => window.tutti.closed.code)), 1000, 'page: close code');
  const left = await peer.waitCase('user_left_room', 'UserLeftRoom for the page');
  eq(left.room_id, roomId, 'peer: UserLeftRoom.room_id');
  const errors = await page.evaluate(() => window.tutti.errors);
  eq(errors.length, 0, `page errors ${JSON.stringify(errors)}`);
  // Every frame the page got names its oneof in message_type (PROTOCOL.md §2).
  const mismatched = await page.evaluate(() => window.tutti.received.filter(
      (m) => !m.message || m.message_type.replace(/[A-Z]/g, (c, i) =>
          (i ? '_' : '') + c.toLowerCase()) !== m.message).map((m) => m.message_type));
  eq(mismatched.length, 0, `message_type that does not name the oneof: ${mismatched}`);
  console.log('browser: ok - the page closed cleanly and the peer saw it leave');
});

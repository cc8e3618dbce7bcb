#!/usr/bin/env node
// Compression test (docs/PROTOCOL.md, "Compression"): the server's permessage-deflate as
// real client libraries see it. Node's `ws` (offering the extension, and not) and
// Debian's Chromium (driven by playwright-core; a browser always offers it) join a room
// with a long chat history and ask for the room list: the compressing connections
// negotiate "permessage-deflate; server_no_context_takeover", read far fewer bytes for
// the join, and decode exactly the same messages as the connection that did not offer
// it, which gets plain frames. What ws and Chromium send compressed is read too.
//
//   node compress_test.mjs --server PATH/TO/tutti-server --token PATH/TO/tutti-token
//                          [--chromium /usr/bin/chromium] [--verbose]
//
// Exits 0 on success or 1 naming the failed check. The server, the HTTP server and the
// browser it started are always stopped, the temporary directory removed (harness.mjs).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { check, eq, main, pageWait } from './harness.mjs';

const THRESHOLD = 256;             // compression_threshold given to the server
const HISTORY = 50;                // chat lines in the room (the server's default history)

const line = (i) => `line ${i}: let us take the bridge slower, in D minor, and keep the left hand light`;
// Numbers as strings: protobufjs in the page, without Long, gives an int64 default as 0
// where Node's gives '0'; the values are what is compared, not that spelling.
const json = (x) => JSON.stringify(x, (k, v) => (typeof v === 'number' ? String(v) : v));

await main('compress', async (env) => {
  // Chat and joins unthrottled (the test fills a room's history quickly); a threshold
  // low enough that a short room list is compressed too.
  const config = join(env.tmp, 'tutti.toml');
  writeFileSync(config, [
    'chat_per_second = 1000.0', 'chat_burst = 1000.0', 'joins_per_second = 1000.0',
    'join_burst = 1000.0', `compression_threshold = ${THRESHOLD}`, ''].join('\n'));
  const port = await env.startServer(['--config', config]);
  const httpPort = await env.startHttp();
  env.log(`server on ${port}, page server on ${httpPort}`);
  // `deflate`: whether ws offers permessage-deflate (its default), and compresses every
  // message it sends (threshold 0) so that the server's inflate is exercised too.
  const peer = (name, deflate) =>
    env.peer(env.mint(name, port), { perMessageDeflate: deflate ? { threshold: 0 } : false });

  // A room with a long history, and a few more rooms for the list (a room is listed
  // while someone is in it).
  const owner = peer('owner', false);
  await owner.waitCase('welcome', 'the owner\'s Welcome');
  owner.send({ message_type: 'CreateRoomCommand', request_id: 'create',
               create_room_command: { room_name: 'Deflate Room', room_type: 'PUBLIC' } });
  check((await owner.waitCase('room_joined_response', 'the owner\'s room')).success, 'room created');
  for (let i = 0; i < HISTORY; i++) {
    owner.send({ message_type: 'RoomChatMessage', request_id: `c${i}`,
                 room_chat_message: { message: line(i) } });
  }
  for (let i = 0; i < HISTORY; i++) {
    await owner.waitCase('room_chat_message', `the owner's line ${i}`, (m) => m.message === line(i));
  }
  for (let i = 0; i < 4; i++) {
    const host = peer(`host${i}`, false);
    await host.waitCase('welcome', 'a host\'s Welcome');
    host.send({ message_type: 'CreateRoomCommand',
                create_room_command: { room_name: `Evening session ${i}`, room_type: 'PUBLIC' } });
    check((await host.waitCase('room_joined_response', 'a host\'s room')).success, 'host room');
  }

  // Node's ws, offering permessage-deflate and not.
  const zip = peer('zip', true);
  const flat = peer('flat', false);
  await zip.waitCase('welcome', 'zip\'s Welcome');
  await flat.waitCase('welcome', 'flat\'s Welcome');
  eq(zip.answer, 'permessage-deflate; server_no_context_takeover; client_max_window_bits=10',
     'what the server answered ws\'s offer');
  eq(zip.ws.extensions, 'permessage-deflate', 'what ws took up');
  eq(flat.answer, '', 'no extension for the connection that offered none');

  const zipBefore = zip.bytesRead();
  zip.send({ message_type: 'JoinRoomByName', join_room_by_name: { room_name: 'deflate room' } });
  const zipJoin = await zip.waitCase('room_joined_response', 'zip\'s join');
  const zipJoinBytes = zip.bytesRead() - zipBefore;
  const flatBefore = flat.bytesRead();
  flat.send({ message_type: 'JoinRoomByName', join_room_by_name: { room_name: 'deflate room' } });
  const flatJoin = await flat.waitCase('room_joined_response', 'flat\'s join');
  const flatJoinBytes = flat.bytesRead() - flatBefore;
  check(zipJoin.success && flatJoin.success, 'both joined');
  eq(flatJoin.chat_history.length, HISTORY, 'chat history length (plain)');
  eq(json(zipJoin.chat_history), json(flatJoin.chat_history), 'chat history, compressed vs plain');
  eq(zipJoin.chat_history[HISTORY - 1].message, line(HISTORY - 1), 'the last line');
  env.log(`join: ${zipJoinBytes} bytes compressed, ${flatJoinBytes} plain`);
  // Each also got the other's arrival meanwhile: a few hundred bytes at most.
  check(zipJoinBytes * 2 < flatJoinBytes,
        `the compressed join read ${zipJoinBytes} bytes, the plain one ${flatJoinBytes}`);
  console.log(`compress: ok - ws decodes the compressed join (${zipJoinBytes} bytes read vs ` +
              `${flatJoinBytes} plain) with the same ${HISTORY}-line history`);

  // Chromium: it always offers the extension and compresses what it sends.
  const page = await env.openPage(
      `http://127.0.0.1:${httpPort}/client.html?ws=${encodeURIComponent(env.mint('web', port))}`);
  await pageWait(page, 'welcome', 'the page\'s Welcome');
  const ext = await page.evaluate(() => window.tutti.extensions);
  check(/^permessage-deflate; server_no_context_takeover(; |$)/.test(ext),
        `Chromium negotiated permessage-deflate (extensions: ${json(ext)})`);
  await page.evaluate(() => window.tutti.send({
    message_type: 'JoinRoomByName', join_room_by_name: { room_name: 'deflate room' } }));
  const pageJoin = await pageWait(page, 'room_joined_response', 'the page\'s join');
  check(pageJoin.success, 'the page joined');
  eq(json(pageJoin.chat_history), json(flatJoin.chat_history),
     'chat history, Chromium (compressed) vs ws (plain)');
  console.log(`compress: ok - Chromium negotiated "${ext}" and decodes the same history`);

  // The room list, asked once everyone is in place: the same for all three.
  await flat.waitCase('user_joined_room', 'the page\'s arrival', (m) => m.user_info.user_id === 'u-web');
  await zip.waitCase('user_joined_room', 'the page\'s arrival', (m) => m.user_info.user_id === 'u-web');
  zip.send({ message_type: 'GetRoomList', request_id: 'list', get_room_list: {} });
  flat.send({ message_type: 'GetRoomList', request_id: 'list', get_room_list: {} });
  await page.evaluate(() => window.tutti.send({
    message_type: 'GetRoomList', request_id: 'list', get_room_list: {} }));
  const zipList = await zip.waitCase('room_list', 'zip\'s room list');
  const flatList = await flat.waitCase('room_list', 'flat\'s room list');
  const pageList = await pageWait(page, 'room_list', 'the page\'s room list');
  check(flatList.rooms.length >= 5, `the list has the five rooms: ${flatList.rooms.length}`);
  eq(json(zipList), json(flatList), 'room list, ws compressed vs plain');
  eq(json(pageList), json(flatList), 'room list, Chromium vs ws plain');

  // What ws sends compressed (every message, threshold 0) the server reads.
  zip.send({ message_type: 'RoomChatMessage', room_chat_message: { message: 'squeezed by ws' } });
  const fromZip = await flat.waitCase('room_chat_message', 'zip\'s line',
                                      (m) => m.message === 'squeezed by ws');
  eq(fromZip.user_id, 'u-zip', 'the compressed line\'s sender');

  // And Chromium's own (compressed) line reaches the plain peer.
  await page.evaluate(() => window.tutti.send({ message_type: 'RoomChatMessage',
                                                room_chat_message: { message: 'squeezed by chromium' } }));
  const fromPage = await flat.waitCase('room_chat_message', 'the page\'s line',
                                       (m) => m.message === 'squeezed by chromium');
  eq(fromPage.user_id, 'u-web', 'the page\'s line\'s sender');
  const errors = await page.evaluate(() => window.tutti.errors);
  eq(errors.length, 0, `page errors ${json(errors)}`);
  console.log('compress: ok - room lists alike; what ws and Chromium sent compressed was read');
});

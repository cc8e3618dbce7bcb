// Encoding and decoding of the wire envelopes (protos/tutti.proto) with the classes
// protoc-gen-es generates at build time (src/gen, never committed). Pure functions; used
// by the connection (main thread) and the unit tests.
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  type ClientMessage,
  ClientMessageSchema,
  type ServerMessage,
  ServerMessage_MessageType,
  ServerMessageSchema,
} from '../gen/tutti_pb.js';

export type Request = Exclude<ServerMessage['message'], { case: undefined }>;
export type RequestInit = MessageInitShape<typeof ServerMessageSchema>['message'];
export type Reply = ClientMessage;
export type ReplyCase = Exclude<ClientMessage['message']['case'], undefined>;

// "createRoomCommand" -> "CreateRoomCommand": the enum value that names the oneof case
// (PROTOCOL.md §2: the server refuses a non-zero message_type that disagrees).
function typeOfCase(c: string): ServerMessage_MessageType {
  const name = c.charAt(0).toUpperCase() + c.slice(1);
  const v = (ServerMessage_MessageType as unknown as Record<string, number>)[name];
  return v === undefined ? ServerMessage_MessageType.Unspecified : v;
}

// Encodes one request envelope: `message` is the oneof ({case, value}).
export function encodeRequest(message: NonNullable<RequestInit>, requestId = ''): Uint8Array {
  const c = (message as { case?: string }).case ?? '';
  const env = create(ServerMessageSchema, {
    messageType: typeOfCase(c),
    message,
    requestId,
  });
  return toBinary(ServerMessageSchema, env);
}

// Decodes a server frame; throws on bytes that are not a ClientMessage.
export function decodeReply(bytes: Uint8Array): ClientMessage {
  return fromBinary(ClientMessageSchema, bytes);
}

// Decodes a client frame (tests use it to check what the page sends).
export function decodeRequest(bytes: Uint8Array): ServerMessage {
  return fromBinary(ServerMessageSchema, bytes);
}

// A reply of the given case, typed, or undefined.
export function caseOf<C extends ReplyCase>(
  m: ClientMessage,
  c: C,
): Extract<ClientMessage['message'], { case: C }>['value'] | undefined {
  return m.message.case === c ? (m.message.value as never) : undefined;
}

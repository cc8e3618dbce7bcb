// Client: a small blocking WebSocket client for the Tutti protocol, used by tutti-cli
// and by the integration tests. It owns one websocketpp client and the thread that runs
// it; received messages queue up until the caller takes them. Every public method is
// safe to call from the owning thread while the I/O thread runs; one owner only
// (AbandonConnect excepted: any thread).
#ifndef TUTTI_TOOLS_CLIENT_CLIENT_H_
#define TUTTI_TOOLS_CLIENT_CLIENT_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "protos/tutti.pb.h"

namespace tutti::client {

struct ConnectResult {
  bool ok = false;
  int http_status = 0;  // the server's answer when the upgrade was refused
  std::string error;    // reason line or transport error
};

class Client {
 public:
  Client();
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Blocks until the connection is open or has failed (or the timeout passes: the opening
  // handshake is given the same bound).
  ConnectResult Connect(const std::string& host, uint16_t port, const std::string& resource,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The one call another thread may make: a Connect under way (or the next one) returns at
  // once, failed ("connect abandoned"), and what it started is ended with the Client. For an
  // owner that must stop waiting for a connect running on a thread of its own.
  void AbandonConnect();

  // Sends `msg` with its message_type derived from the oneof.
  bool Send(proto::ServerMessage msg);
  bool SendRaw(const std::string& bytes, bool binary);

  // The next received message, or nullopt on timeout or when closed with none left.
  std::optional<proto::ClientMessage> Next(std::chrono::milliseconds timeout);
  // The next message with the given case; others received meanwhile are discarded.
  std::optional<proto::ClientMessage> WaitFor(proto::ClientMessage::MessageCase which,
                                              std::chrono::milliseconds timeout);
  // True once the server has closed the connection; code and reason as received.
  bool WaitClosed(std::chrono::milliseconds timeout, uint16_t* code = nullptr,
                  std::string* reason = nullptr);
  void Close(uint16_t code = 1000, const std::string& reason = "bye");
  // Cuts the TCP connection without a WebSocket close, as a lost network does: the
  // server sees the socket end with no close frame (the resume tests drop clients so).
  void Drop();
  bool is_open() const;
  // Messages that did not parse as ClientMessage (should stay 0).
  uint64_t undecodable() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Sets message_type from the oneof of a client-to-server message.
void StampServerMessageType(proto::ServerMessage* msg);

}  // namespace tutti::client

#endif  // TUTTI_TOOLS_CLIENT_CLIENT_H_

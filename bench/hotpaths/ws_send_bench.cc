// websocketpp's three ways to send one payload to N connections, over its iostream
// transport (no sockets: this is the library's CPU per send, without the syscalls):
//   copy       con->send(std::string): a new message and a payload copy per receiver;
//   prepared   one message framed once (by server/frame.h's header writer) and marked
//              prepared, so websocketpp writes it as is (what the server did until its
//              frames became its own buffers, written by its own outbound queue);
//   unprepared one shared message, framed again per receiver.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/config/core.hpp>
#include <websocketpp/server.hpp>

#include "server/frame.h"

namespace tutti {
namespace {

// The same single-threaded choices as the server's endpoint, on the iostream transport.
struct BenchConfig : public websocketpp::config::core {
  typedef BenchConfig type;
  typedef websocketpp::config::core base;
  typedef websocketpp::concurrency::none concurrency_type;
  typedef base::request_type request_type;
  typedef base::response_type response_type;
  typedef base::message_type message_type;
  typedef base::con_msg_manager_type con_msg_manager_type;
  typedef base::endpoint_msg_manager_type endpoint_msg_manager_type;
  typedef websocketpp::log::basic<concurrency_type, websocketpp::log::elevel> elog_type;
  typedef websocketpp::log::basic<concurrency_type, websocketpp::log::alevel> alog_type;
  typedef base::rng_type rng_type;
  struct transport_config : public base::transport_config {
    typedef type::concurrency_type concurrency_type;
    typedef type::alog_type alog_type;
    typedef type::elog_type elog_type;
    typedef type::request_type request_type;
    typedef type::response_type response_type;
  };
  typedef websocketpp::transport::iostream::endpoint<transport_config> transport_type;
  static const websocketpp::log::level elog_level = websocketpp::log::elevel::none;
  static const websocketpp::log::level alog_level = websocketpp::log::alevel::none;
};

using BenchServer = websocketpp::server<BenchConfig>;
using WsMessage =
    websocketpp::message_buffer::message<websocketpp::message_buffer::alloc::con_msg_manager>;

struct Fixture {
  BenchServer server;
  std::vector<BenchServer::connection_ptr> cons;
  uint64_t bytes = 0;

  explicit Fixture(int n) {
    server.clear_access_channels(websocketpp::log::alevel::all);
    server.clear_error_channels(websocketpp::log::elevel::all);
    const std::string request =
        "GET /api/websocket/x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    for (int i = 0; i < n; ++i) {
      BenchServer::connection_ptr con = server.get_connection();
      con->set_write_handler([this](websocketpp::connection_hdl, const char*, size_t len) {
        bytes += len;
        return websocketpp::lib::error_code();
      });
      con->start();
      con->read_some(request.data(), request.size());
      cons.push_back(con);
    }
  }
  bool all_open() const {
    for (const auto& c : cons) {
      if (c->get_state() != websocketpp::session::state::open) return false;
    }
    return true;
  }
};

const std::string& Payload() {
  static const std::string p(60, '\x42');  // a relayed MIDI batch is ~50-70 bytes
  return p;
}

void BM_WsSendCopy(benchmark::State& state) {
  Fixture f(static_cast<int>(state.range(0)));
  if (!f.all_open()) return state.SkipWithError("handshake failed");
  for (auto _ : state) {
    for (auto& con : f.cons) con->send(Payload(), websocketpp::frame::opcode::binary);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(f.bytes));
}

void BM_WsSendPrepared(benchmark::State& state) {
  Fixture f(static_cast<int>(state.range(0)));
  if (!f.all_open()) return state.SkipWithError("handshake failed");
  for (auto _ : state) {
    auto msg = std::make_shared<WsMessage>(nullptr, websocketpp::frame::opcode::binary, 0);
    msg->get_raw_payload() = Payload();
    msg->set_header(server::BinaryFrameHeader(Payload().size()));
    msg->set_prepared(true);
    for (auto& con : f.cons) con->send(msg);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(f.bytes));
}

void BM_WsSendSharedUnprepared(benchmark::State& state) {
  Fixture f(static_cast<int>(state.range(0)));
  if (!f.all_open()) return state.SkipWithError("handshake failed");
  for (auto _ : state) {
    auto msg = std::make_shared<WsMessage>(nullptr, websocketpp::frame::opcode::binary, 0);
    msg->get_raw_payload() = Payload();
    for (auto& con : f.cons) con->send(msg);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(f.bytes));
}

BENCHMARK(BM_WsSendCopy)->Arg(64);
BENCHMARK(BM_WsSendPrepared)->Arg(64);
BENCHMARK(BM_WsSendSharedUnprepared)->Arg(64);

}  // namespace
}  // namespace tutti

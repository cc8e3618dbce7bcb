// Tutti's websocketpp transport (server/ws_tcp_connection.h, ws_outbound_connection.h,
// ws_outbound_endpoint.h): what one connection object costs, and one connection's life
// through websocketpp's server role on a real loopback socket, with a raw TCP client.
#include "server/ws_transport.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <websocketpp/server.hpp>

#include "server/frame.h"

namespace tutti::server::ws {
namespace {

using WsServer = websocketpp::server<WsConfig>;
using boost::asio::ip::tcp;

// Every connection, idle or not, is one such object: it is most of a joined member's
// memory (docs/PERFORMANCE.md, "Memory per connection"; issue 9's budget is 8 KiB per
// member). websocketpp's own Asio transport made it 4,832 bytes, 2,080 of them two
// fixed handler allocators; Tutti's transport makes it ~2,300.
TEST(WsTransport, ConnectionObjectStaysSmall) {
  EXPECT_LT(sizeof(WsServer::connection_type), 3000u);
  EXPECT_LT(sizeof(OutboundConnection<WsConfig::transport_config>), 512u);
  // What Tutti keeps in it: the gate's resume verdict (~200 bytes) is made only when a
  // client presents a resume token, and released at open.
  EXPECT_LT(sizeof(ConnectionData), 256u);
}

// Waits (bounded) until `done` holds.
template <typename F>
bool WaitFor(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// The upgrade, a frame each way, Tutti's frame and websocketpp's own write in the order
// they were queued, the client going away (end of stream), and the end of listening.
TEST(WsTransport, ServesOneConnectionThroughItsLife) {
  boost::asio::io_context io;
  WsServer ws;
  ws.clear_access_channels(websocketpp::log::alevel::all);
  ws.clear_error_channels(websocketpp::log::elevel::all);
  ws.init_asio(&io);
  std::atomic<int> bound{0}, accepted{0}, opened{0}, closed{0};
  ws.set_tcp_pre_bind_handler([&](tcp::acceptor&) {
    ++bound;
    return websocketpp::lib::error_code();
  });
  ws.set_tcp_post_init_handler([&](websocketpp::connection_hdl h) {
    // The accepted socket is connected when the hook runs.
    boost::system::error_code ec;
    ws.get_con_from_hdl(h)->get_raw_socket().remote_endpoint(ec);
    if (!ec) ++accepted;
  });
  ws.set_open_handler([&](websocketpp::connection_hdl) { ++opened; });
  ws.set_close_handler([&](websocketpp::connection_hdl) { ++closed; });
  ws.set_fail_handler([&](websocketpp::connection_hdl) { ++closed; });
  ws.set_message_handler([&](websocketpp::connection_hdl h, WsServer::message_ptr msg) {
    WsServer::connection_ptr con = ws.get_con_from_hdl(h);
    // Queued first through Tutti's path, then websocketpp's own send (deferred to the
    // flush, then queued behind it): the client must see them in that order.
    con->SendFrame(std::make_shared<const PreparedFrame>("tutti"));
    con->send(msg->get_payload(), websocketpp::frame::opcode::text);
  });
  websocketpp::lib::error_code ec;
  ws.listen(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0), ec);
  ASSERT_FALSE(ec) << ec.message();
  ws.start_accept(ec);
  ASSERT_FALSE(ec) << ec.message();
  boost::system::error_code bec;
  const uint16_t port = ws.get_local_endpoint(bec).port();
  ASSERT_FALSE(bec);
  EXPECT_EQ(bound.load(), 1);

  auto guard = boost::asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });

  boost::asio::io_context client_io;
  tcp::socket client(client_io);
  client.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  const std::string upgrade =
      "GET /api/websocket/x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n";
  boost::asio::write(client, boost::asio::buffer(upgrade));
  boost::asio::streambuf response;
  boost::asio::read_until(client, response, "\r\n\r\n");
  const std::string head(static_cast<const char*>(response.data().data()), response.size());
  EXPECT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  // RFC 6455's own example key and accept value.
  EXPECT_NE(head.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << head;
  EXPECT_EQ(head.size(), head.find("\r\n\r\n") + 4);  // nothing after the answer yet
  EXPECT_TRUE(WaitFor([&] { return opened.load() == 1; }));
  EXPECT_EQ(accepted.load(), 1);

  // A masked text frame "hi".
  const std::array<uint8_t, 4> mask{1, 2, 3, 4};
  const std::array<uint8_t, 8> frame{0x81,
                                     0x82,
                                     mask[0],
                                     mask[1],
                                     mask[2],
                                     mask[3],
                                     static_cast<uint8_t>('h' ^ mask[0]),
                                     static_cast<uint8_t>('i' ^ mask[1])};
  boost::asio::write(client, boost::asio::buffer(frame));
  std::array<char, 7 + 4> got{};
  boost::asio::read(client, boost::asio::buffer(got));
  EXPECT_EQ(std::string(got.data(), got.size()), std::string("\x82\x05tutti\x81\x02hi", 11));

  // The client goes away without a close frame: the server reads the end of the stream
  // and websocketpp ends the connection.
  client.close();
  EXPECT_TRUE(WaitFor([&] { return closed.load() == 1; }));

  std::atomic<bool> stopped{false};
  boost::asio::post(io, [&] {
    websocketpp::lib::error_code sec;
    ws.stop_listening(sec);
    EXPECT_FALSE(sec);
    stopped = !ws.is_listening();
  });
  EXPECT_TRUE(WaitFor([&] { return stopped.load(); }));
  tcp::socket late(client_io);
  boost::system::error_code cec;
  late.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), cec);
  EXPECT_TRUE(cec) << "still accepting after stop_listening";

  guard.reset();
  io.stop();
  loop.join();
}

}  // namespace
}  // namespace tutti::server::ws

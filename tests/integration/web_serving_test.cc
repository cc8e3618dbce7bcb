// Static serving and /api/server-info against a real server on 127.0.0.1, with raw
// HTTP/1.1 requests over a socket: files (binary too), 404, traversal attempts, HEAD,
// 405, and a connect payload sealed to the key the server publishes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "crypto/base64url.h"
#include "crypto/dev_connection.h"
#include "crypto/json.h"
#include "gtest/gtest.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

struct RawResponse {
  bool ok = false;  // a complete status line and header block arrived
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Sends `request` as is and reads until the server closes (it closes after every plain
// HTTP answer), for at most 10 s.
RawResponse RawHttp(uint16_t port, const std::string& request) {
  RawResponse out;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return out;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return out;
  }
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  char buf[16384];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos || raw.compare(0, 9, "HTTP/1.1 ") != 0) return out;
  out.status = std::atoi(raw.c_str() + 9);
  size_t line = raw.find("\r\n") + 2;
  while (line < end) {
    size_t next = raw.find("\r\n", line);
    std::string h = raw.substr(line, next - line);
    size_t colon = h.find(':');
    if (colon != std::string::npos) {
      std::string name = h.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t v = h.find_first_not_of(' ', colon + 1);
      out.headers[name] = v == std::string::npos ? "" : h.substr(v);
    }
    line = next + 2;
  }
  out.body = raw.substr(end + 4);
  out.ok = true;
  return out;
}

RawResponse Request(uint16_t port, const std::string& method, const std::string& target) {
  return RawHttp(port, method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                           std::to_string(port) + "\r\nUser-Agent: web-serving-test\r\n\r\n");
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
}

const std::string kIndex =
    "<!doctype html><title>Tutti</title><script type=module src=app-3F2A9C1B.js></script>";
const std::string kWasm("\0asm\1\0\0\0\r\n\r\n\xff\xfe", 14);

class WebServing : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tutti-web-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    const std::string root = base_ + "/dist";
    ASSERT_EQ(mkdir(root.c_str(), 0700), 0);
    ASSERT_EQ(mkdir((root + "/assets").c_str(), 0700), 0);
    WriteFile(root + "/index.html", kIndex);
    WriteFile(root + "/app-3F2A9C1B.js", "export const x = 1;\n");
    WriteFile(root + "/assets/timing-ABCDEFGH.wasm", kWasm);
    WriteFile(base_ + "/secret.txt", "top secret");
    ASSERT_EQ(symlink((base_ + "/secret.txt").c_str(), (root + "/secret.txt").c_str()), 0);
    server_ =
        std::make_unique<TestServer>(2, [root](server::ServerConfig& c) { c.web_root = root; });
  }
  void TearDown() override {
    server_.reset();
    std::string cmd = "rm -rf '" + base_ + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }

  std::string base_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(WebServing, FilesErrorsTraversalAndHead) {
  const uint16_t port = server_->port();
  RawResponse index = Request(port, "GET", "/");
  ASSERT_TRUE(index.ok);
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, kIndex);
  EXPECT_EQ(index.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.Header("content-length"), std::to_string(kIndex.size()));
  EXPECT_EQ(index.Header("cache-control"), "no-cache");
  EXPECT_EQ(index.Header("x-content-type-options"), "nosniff");
  const std::string origin = "127.0.0.1:" + std::to_string(port);
  EXPECT_NE(index.Header("content-security-policy")
                .find("connect-src 'self' ws://" + origin + " wss://" + origin + ";"),
            std::string::npos)
      << index.Header("content-security-policy");

  RawResponse wasm = Request(port, "GET", "/assets/timing-ABCDEFGH.wasm");
  EXPECT_EQ(wasm.status, 200);
  EXPECT_EQ(wasm.body, kWasm);  // every byte, NULs and CRLFs included
  EXPECT_EQ(wasm.Header("content-type"), "application/wasm");
  EXPECT_EQ(wasm.Header("cache-control"), "public, max-age=31536000, immutable");

  RawResponse etagged = RawHttp(port, "GET / HTTP/1.1\r\nHost: " + origin + "\r\nIf-None-Match: " +
                                          index.Header("etag") + "\r\n\r\n");
  EXPECT_EQ(etagged.status, 304);
  EXPECT_EQ(etagged.body, "");

  RawResponse head = Request(port, "HEAD", "/app-3F2A9C1B.js");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), "20");
  EXPECT_EQ(head.body, "");  // HEAD: headers only, up to the close

  EXPECT_EQ(Request(port, "GET", "/missing.js").status, 404);
  EXPECT_EQ(Request(port, "GET", "/assets/").status, 404);     // no listing
  EXPECT_EQ(Request(port, "GET", "/secret.txt").status, 404);  // link out of the root
  for (const std::string bad : {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
                                "/%2E%2E%2fsecret.txt", "/..%5csecret.txt", "/index.html%00"}) {
    RawResponse r = Request(port, "GET", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(r.body.find("top secret"), std::string::npos) << bad;
  }
  EXPECT_EQ(Request(port, "GET", "/" + std::string(1500, 'a')).status, 414);

  RawResponse post = Request(port, "POST", "/");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.Header("allow"), "GET, HEAD");
  EXPECT_EQ(Request(port, "GET", "/healthz").body, "ok\n");

  // None of it disturbed the WebSocket side.
  EXPECT_TRUE(ServerStillServes(*server_, "web"));
}

TEST_F(WebServing, ServerInfoKeyOpensTheDoor) {
  const uint16_t port = server_->port();
  RawResponse info = Request(port, "GET", "/api/server-info");
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(info.Header("content-type"), "application/json");
  EXPECT_EQ(info.Header("access-control-allow-origin"), "");
  auto json = crypto::ParseFlatJsonObject(info.body);
  ASSERT_TRUE(json.ok()) << json.status() << "\n" << info.body;
  std::string key_text, ws_path;
  bool guests = false;
  ASSERT_TRUE(crypto::GetJsonString(*json, "seal_public_key", true, &key_text).ok());
  ASSERT_TRUE(crypto::GetJsonString(*json, "websocket_path", true, &ws_path).ok());
  ASSERT_TRUE(crypto::GetJsonBool(*json, "guests_allowed", true, &guests).ok());
  EXPECT_TRUE(guests);
  EXPECT_EQ(ws_path, "/api/websocket/");
  int64_t chat = 0;
  ASSERT_TRUE(crypto::GetJsonInt64(*json, "max_chat_length", true, &chat).ok());
  EXPECT_EQ(chat, static_cast<int64_t>(server_->server().config().max_chat_length));

  crypto::PublicKey published{};
  ASSERT_TRUE(crypto::Base64UrlDecodeInto(key_text, published.data(), published.size()));

  // A guest and a member, each sealed to the published key only, are let in.
  for (bool guest : {true, false}) {
    crypto::DevConnectionRequest req;
    req.guest = guest;
    req.member = !guest;
    req.user_id = guest ? "" : "u-webmember";
    req.name = guest ? "WebGuest" : "WebMember";
    req.port = port;
    auto dev = crypto::MintDevConnection(req, guest ? nullptr : &server_->issuer(), published,
                                         server_->server().clock().UnixMs());
    ASSERT_TRUE(dev.ok()) << dev.status();
    ASSERT_EQ(dev->resource.compare(0, ws_path.size(), ws_path), 0);
    client::Client c;
    client::ConnectResult r = c.Connect("127.0.0.1", port, dev->resource);
    ASSERT_TRUE(r.ok) << r.http_status << " " << r.error;
    auto welcome = c.WaitFor(proto::ClientMessage::kWelcome, 5s);
    ASSERT_TRUE(welcome.has_value());
    EXPECT_EQ(welcome->welcome().user().is_guest(), guest);
  }

  // A payload sealed to another key is refused: the published key is the one that counts.
  crypto::PublicKey other = published;
  other[0] ^= 1;
  crypto::DevConnectionRequest req;
  req.guest = true;
  req.name = "Wrong";
  auto dev = crypto::MintDevConnection(req, nullptr, other, server_->server().clock().UnixMs());
  ASSERT_TRUE(dev.ok());
  client::Client c;
  EXPECT_EQ(c.Connect("127.0.0.1", port, dev->resource).http_status, 400);
}

TEST(WebServingNoRoot, MissingWebRootStillRunsTheApi) {
  TestServer ts(1, [](server::ServerConfig& c) { c.web_root = "/nonexistent/tutti-web"; });
  EXPECT_FALSE(ts.server().http_site().root().loaded());
  RawResponse index = Request(ts.port(), "GET", "/");
  EXPECT_EQ(index.status, 404);
  EXPECT_NE(index.body.find("no web client"), std::string::npos);
  EXPECT_EQ(Request(ts.port(), "GET", "/api/server-info").status, 200);
  EXPECT_TRUE(ServerStillServes(ts, "noweb"));
}

}  // namespace
}  // namespace tutti::testing

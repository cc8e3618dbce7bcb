#include "tools/play/sign_in.h"

#include <boost/asio.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "crypto/base64url.h"
#include "crypto/connect_payload.h"
#include "crypto/json.h"
#include "crypto/sodium_init.h"

namespace tutti::play {
namespace {

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  const size_t end = s.find_last_not_of(ws);
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}

}  // namespace

absl::StatusOr<ServerInfo> ParseServerInfo(const std::string& json) {
  auto object = crypto::ParseFlatJsonObject(json);
  if (!object.ok()) {
    return absl::InvalidArgumentError("not a Tutti server-info document: " +
                                      std::string(object.status().message()));
  }
  ServerInfo info;
  std::string key;
  if (auto s = crypto::GetJsonString(*object, "seal_public_key", true, &key); !s.ok()) {
    return absl::InvalidArgumentError("server-info without a seal key: " +
                                      std::string(s.message()));
  }
  if (!crypto::Base64UrlDecodeInto(key, info.seal_public.data(), info.seal_public.size())) {
    return absl::InvalidArgumentError("server-info seal key is not 32 bytes of base64url");
  }
  (void)crypto::GetJsonBool(*object, "guests_allowed", false, &info.guests_allowed);
  (void)crypto::GetJsonString(*object, "version", false, &info.version);
  return info;
}

absl::StatusOr<ServerInfo> FetchServerInfo(const std::string& host, int port,
                                           std::chrono::milliseconds timeout) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  asio::ip::tcp::resolver resolver(io);
  std::string response;
  boost::system::error_code failure;
  const std::string request = "GET /api/server-info HTTP/1.1\r\nHost: " + host + ":" +
                              std::to_string(port) + "\r\nConnection: close\r\n\r\n";
  std::array<char, 4096> buf{};
  std::function<void()> read_more = [&] {
    socket.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, size_t n) {
      response.append(buf.data(), n);
      if (response.size() > 64 * 1024) return;  // not a server-info document: stop reading
      if (!ec) read_more();
    });
  };
  resolver.async_resolve(
      host, std::to_string(port),
      [&](boost::system::error_code ec, asio::ip::tcp::resolver::results_type results) {
        if (ec) {
          failure = ec;
          return;
        }
        asio::async_connect(socket, results,
                            [&](boost::system::error_code cec, const asio::ip::tcp::endpoint&) {
                              if (cec) {
                                failure = cec;
                                return;
                              }
                              asio::async_write(socket, asio::buffer(request),
                                                [&](boost::system::error_code wec, size_t) {
                                                  if (wec) {
                                                    failure = wec;
                                                    return;
                                                  }
                                                  read_more();
                                                });
                            });
      });
  io.run_for(timeout);
  const std::string where = host + ":" + std::to_string(port);
  if (failure) return absl::UnavailableError("cannot reach " + where + ": " + failure.message());
  if (!io.stopped()) return absl::UnavailableError(where + " did not answer in time");
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) {
    return absl::InvalidArgumentError(where + " is not a Tutti server (no /api/server-info)");
  }
  return ParseServerInfo(response.substr(body + 4));
}

absl::StatusOr<std::string> LoadToken(const std::string& token_file) {
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) return absl::NotFoundError("cannot read the token file " + token_file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string token = Trim(ss.str());
    if (token.empty())
      return absl::InvalidArgumentError("the token file " + token_file + " is empty");
    return token;
  }
  const char* env = std::getenv("TUTTI_TOKEN");
  return env == nullptr ? std::string() : Trim(env);
}

absl::StatusOr<TokenIdentity> ReadTokenIdentity(const std::string& token) {
  const size_t a = token.find('.');
  const size_t b = a == std::string::npos ? a : token.find('.', a + 1);
  if (b == std::string::npos) return absl::InvalidArgumentError("the token is not a JWT");
  auto claims_json = crypto::Base64UrlDecode(token.substr(a + 1, b - a - 1));
  if (!claims_json) return absl::InvalidArgumentError("the token's claims are not base64url");
  auto object = crypto::ParseFlatJsonObject(*claims_json);
  if (!object.ok()) return absl::InvalidArgumentError("the token's claims are not JSON");
  TokenIdentity id;
  if (!crypto::GetJsonString(*object, "sub", true, &id.user_id).ok() || id.user_id.empty()) {
    return absl::InvalidArgumentError("the token names no user (sub)");
  }
  (void)crypto::GetJsonString(*object, "name", false, &id.name);
  (void)crypto::GetJsonInt64(*object, "exp", false, &id.expires_unix_s);
  return id;
}

std::string BuildResource(const ServerInfo& info, const std::string& name, const std::string& token,
                          int64_t now_unix_ms, const ResumeKeys& resume,
                          const std::string& link_token) {
  crypto::EnsureSodiumInitialized();
  crypto::ConnectPayload p;
  p.username = name;
  p.socket_id = crypto::RandomSocketId();
  p.ts_ms = now_unix_ms;
  if (!token.empty()) {
    auto id = ReadTokenIdentity(token);
    if (id.ok()) p.uuid = id->user_id;
    p.token = token;
    p.is_member = true;
  }
  if (!resume.token.empty()) {
    p.resume_token = resume.token;
    p.resume_room = resume.room;
    p.resume_epoch = resume.epoch;
    p.resume_offset = static_cast<int64_t>(resume.offset);
  }
  p.link_token = link_token;
  return crypto::BuildConnectResource(p, info.seal_public);
}

}  // namespace tutti::play

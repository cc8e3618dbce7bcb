// WebRoot: the static files of the browser client (docs/WEB.md, "Static serving"),
// loaded once from a directory into memory, and the mapping from an HTTP request path to
// one of them with the headers it is served with (Content-Type, Cache-Control, ETag,
// Content-Security-Policy, nosniff, Referrer-Policy).
//
// Pure: no sockets and no websocketpp; server/http_site.h routes requests here and
// server/endpoint.cc puts the answer on the wire. Load() does blocking file I/O and runs
// once at startup (Server's constructor); afterwards a WebRoot is immutable and its const
// methods may be called from every shard thread at once. Owned by HttpSite, hence by
// the Server.
//
// Why files are cached at startup rather than read per request: a read per request
// would be blocking disk I/O on a shard thread, the same thread that forwards MIDI, so
// a cold page cache would show up as jitter in everyone's notes; the bundle is small
// (hundreds of KiB) and bounded by WebRootLimits; and a snapshot taken once cannot be
// swapped for a symlink out of the root between the check and the read. The price: a
// rebuilt bundle is served after the server restarts (tools/dev.sh builds it first).
#ifndef TUTTI_SERVER_WEB_ROOT_H_
#define TUTTI_SERVER_WEB_ROOT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace tutti::server {

// What the HTTP layer passes in: views into the request, valid for the call.
struct HttpRequest {
  std::string_view method;         // "GET", "HEAD", ...
  std::string_view target;         // the request target as sent: path and query
  std::string_view host;           // the Host header ("" when absent)
  std::string_view if_none_match;  // the If-None-Match header ("" when absent)
};

// What goes back. `body` points into memory owned by the WebRoot/HttpSite that made the
// response (or a string literal), so it lives as long as the server. `headers` always
// holds Content-Length, also for HEAD and 304, where `send_body` is false.
struct HttpResponse {
  int status = 404;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
  bool send_body = true;

  // The value of header `name` (exact spelling), or "" when absent. For tests.
  std::string_view Header(std::string_view name) const;
};

struct WebRootLimits {
  // One file, the whole tree, and how many files. The client bundle is a few hundred
  // KiB (docs/WEB.md); the caps only stop a wrong --web-root (a home directory, /)
  // from filling the server's memory or its startup time.
  size_t max_file_bytes = 16 * 1024 * 1024;
  size_t max_total_bytes = 64 * 1024 * 1024;
  size_t max_files = 4096;
  int max_depth = 16;
};

// Longest request path (query excluded) that is looked at at all; longer is 414.
inline constexpr size_t kMaxWebPathBytes = 1024;

// Result of mapping a request target to a file key.
enum class WebPathResult {
  kOk,          // *key is a relative path such as "index.html" or "assets/app-X.js"
  kBadRequest,  // traversal, encoded slash or backslash, NUL or control bytes, bad escape
  kTooLong,     // path longer than kMaxWebPathBytes
};

// Maps the target's path (the query is dropped) to the key of a file under the root:
// percent-escapes are decoded; a path ending in "/" means its index.html; "." and ".."
// segments (however encoded), empty segments, "%2f" (an encoded slash), backslashes
// (raw or encoded), NUL and other control bytes are refused rather than normalised, so
// one file has exactly one spelling. Pure; also the fuzz target's entry point.
WebPathResult MapWebPath(std::string_view target, std::string* key);

// The Content-Type for a file name, by its extension ("application/octet-stream" for
// unknown ones; nosniff keeps browsers from guessing).
std::string_view ContentTypeFor(std::string_view file_name);

// True for esbuild-style content-hashed names, "<name>-<HASH>.<ext>" with HASH 8 or more
// characters of [A-Z0-9] (esbuild's default "[name]-[hash]" is 8 base32 capitals), e.g.
// "app-3F2A9C1B.js" or "chunk-7QK2LM4D.js.map". Such files never change, so they may be
// cached for a year; anything else is revalidated.
bool IsHashedAssetName(std::string_view file_name);

// The Content-Security-Policy sent with every response: same-origin everything, no
// inline script, WebAssembly allowed ('wasm-unsafe-eval'), and WebSocket connections to
// the origin the page was loaded from. `host` is the request's Host header; one that is
// not a plain host[:port] (or [v6]:port) is left out, so a forged header cannot inject
// policy, and the page can then still reach 'self'.
std::string ContentSecurityPolicy(std::string_view host);

// Headers every response carries (nosniff, Referrer-Policy, CSP); appended to `out`.
void AddSecurityHeaders(std::string_view host,
                        std::vector<std::pair<std::string, std::string>>* out);

// A short plain-text answer (errors, /healthz) with the security headers. `body` must
// outlive the response (a string literal).
HttpResponse TextResponse(int status, std::string_view body, std::string_view host);

class WebRoot {
 public:
  // Reads every regular file under `dir` whose real path (symlinks resolved) stays
  // inside the root's real path, skipping hidden names (".git", ".DS_Store") and files
  // past the limits. Never fails: a missing or unreadable directory gives an empty
  // WebRoot whose error() says why; skipped files are listed in warnings().
  static WebRoot Load(const std::string& dir, const WebRootLimits& limits = WebRootLimits());

  WebRoot() = default;

  bool loaded() const { return error_.empty() && !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  // Why nothing is served ("" when loaded()).
  const std::string& error() const { return error_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  size_t file_count() const { return files_.size(); }
  size_t total_bytes() const { return total_bytes_; }
  bool has_index() const { return files_.contains("index.html"); }

  // Answers a GET or HEAD for a static file; the caller has checked the method.
  HttpResponse Serve(const HttpRequest& request) const;

 private:
  struct File {
    std::string content;
    std::string_view content_type;
    std::string etag;  // strong, from a hash of the content
    bool immutable = false;
  };

  std::string dir_;
  std::string error_;
  std::vector<std::string> warnings_;
  absl::flat_hash_map<std::string, File> files_;
  size_t total_bytes_ = 0;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_WEB_ROOT_H_

#include "server/web_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace tutti::server {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

std::string ErrnoText(int err) { return std::strerror(err); }

// FNV-1a, 64 bits: an ETag only has to change when the content does.
std::string ContentTag(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) tag += kHex[(h >> shift) & 0xf];
  tag += '"';
  return tag;
}

// True when one of the comma-separated entity tags in If-None-Match names `etag`
// (weak comparison, RFC 9110 §13.1.2, so "W/" prefixes are ignored), or it is "*".
bool EtagMatches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*") return true;
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);
    if (item == etag) return true;
  }
  return false;
}

// A Host header that may go into a policy: host or IPv4 or [IPv6], optional :port.
bool IsPlainHost(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  size_t i = 0;
  if (host[0] == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos || close < 2) return false;
    for (i = 1; i < close; ++i) {
      char c = host[i];
      if (!(HexValue(c) >= 0 || c == ':' || c == '.')) return false;
    }
    i = close + 1;
  } else {
    while (i < host.size() && host[i] != ':') {
      char c = host[i];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-')) {
        return false;
      }
      ++i;
    }
    if (i == 0) return false;
  }
  if (i == host.size()) return true;
  if (host[i] != ':') return false;
  std::string_view port = host.substr(i + 1);
  if (port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The real path of `path`, or "" (errno kept) when it cannot be resolved.
std::string RealPath(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> resolved(realpath(path.c_str(), nullptr), &std::free);
  return resolved ? std::string(resolved.get()) : std::string();
}

// A name the request-path mapping can produce and that is not hidden.
bool ServableName(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  for (unsigned char c : name) {
    if (IsControl(c) || c == '\\') return false;
  }
  return true;
}

}  // namespace

std::string_view HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

WebPathResult MapWebPath(std::string_view target, std::string* key) {
  std::string_view path = target.substr(0, target.find_first_of("?#"));
  if (path.size() > kMaxWebPathBytes) return WebPathResult::kTooLong;
  if (path.empty() || path.front() != '/') return WebPathResult::kBadRequest;
  std::string out;
  out.reserve(path.size());
  std::string segment;
  // Walks the raw path segment by segment; only a raw '/' separates segments.
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      const bool last = i == path.size();
      if (segment.empty()) {
        // "/" or "/dir/" (the trailing slash of the last segment) means index.html;
        // an empty segment anywhere else ("//") has no file.
        if (!last) return WebPathResult::kBadRequest;
        out += "index.html";
        break;
      }
      if (segment == "." || segment == "..") return WebPathResult::kBadRequest;
      out += segment;
      segment.clear();
      if (!last) out += '/';
      continue;
    }
    unsigned char c = static_cast<unsigned char>(path[i]);
    if (c == '%') {
      if (i + 2 >= path.size()) return WebPathResult::kBadRequest;
      const int hi = HexValue(path[i + 1]);
      const int lo = HexValue(path[i + 2]);
      if (hi < 0 || lo < 0) return WebPathResult::kBadRequest;
      c = static_cast<unsigned char>(hi * 16 + lo);
      i += 2;
      // An encoded slash would name a segment boundary the router cannot see.
      if (c == '/') return WebPathResult::kBadRequest;
    }
    if (c == '\\' || IsControl(c)) return WebPathResult::kBadRequest;
    segment += static_cast<char>(c);
  }
  *key = std::move(out);
  return WebPathResult::kOk;
}

std::string_view ContentTypeFor(std::string_view file_name) {
  size_t slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string ext(file_name.substr(dot + 1));
  for (char& c : ext) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"wasm", "application/wasm"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"ico", "image/x-icon"},
      {"woff2", "font/woff2"},
      {"txt", "text/plain; charset=utf-8"},
      {"webmanifest", "application/manifest+json"},
  };
  for (const auto& [e, type] : kTypes) {
    if (ext == e) return type;
  }
  return "application/octet-stream";
}

bool IsHashedAssetName(std::string_view file_name) {
  size_t slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  size_t dot = file_name.find('.');
  if (dot == std::string_view::npos || dot + 1 == file_name.size()) return false;
  std::string_view stem = file_name.substr(0, dot);
  size_t dash = stem.rfind('-');
  if (dash == std::string_view::npos || dash == 0) return false;
  std::string_view hash = stem.substr(dash + 1);
  if (hash.size() < 8) return false;
  for (char c : hash) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string ContentSecurityPolicy(std::string_view host) {
  std::string connect = "connect-src 'self'";
  if (IsPlainHost(host))
    absl::StrAppend(&connect, " ws://", std::string(host), " wss://", std::string(host));
  // No frame-ancestors: a site embedding the client in an iframe is a supported use
  // (docs/WEB.md); the page has no state-changing action a clickjacker could aim at
  // that the user's own keyboard cannot undo.
  return absl::StrCat(
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
      "img-src 'self' data:; ",
      connect, "; object-src 'none'; base-uri 'none'; form-action 'self'");
}

void AddSecurityHeaders(std::string_view host,
                        std::vector<std::pair<std::string, std::string>>* out) {
  out->emplace_back("X-Content-Type-Options", "nosniff");
  // The page's URL fragment may carry a token (docs/WEB.md); browsers never send
  // fragments in Referer, and no-referrer keeps even the path to ourselves.
  out->emplace_back("Referrer-Policy", "no-referrer");
  out->emplace_back("Content-Security-Policy", ContentSecurityPolicy(host));
}

WebRoot WebRoot::Load(const std::string& dir, const WebRootLimits& limits) {
  WebRoot root;
  root.dir_ = dir;
  if (dir.empty()) {
    root.error_ = "no web root configured";
    return root;
  }
  const std::string real_root = RealPath(dir);
  if (real_root.empty()) {
    root.error_ = absl::StrCat(dir, ": ", ErrnoText(errno));
    return root;
  }
  struct stat st;
  if (::stat(real_root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    root.error_ = absl::StrCat(dir, ": not a directory");
    return root;
  }
  const std::string prefix = real_root == "/" ? real_root : real_root + "/";

  // Depth-first walk with an explicit stack: (directory on disk, key prefix, depth).
  struct Pending {
    std::string path, key;
    int depth;
  };
  std::vector<Pending> stack{{real_root, "", 0}};
  bool first = true;
  while (!stack.empty()) {
    Pending d = std::move(stack.back());
    stack.pop_back();
    DIR* handle = ::opendir(d.path.c_str());
    if (handle == nullptr) {
      if (first) {
        root.error_ = absl::StrCat(dir, ": ", ErrnoText(errno));
        return root;
      }
      root.warnings_.push_back(absl::StrCat(d.key, ": ", ErrnoText(errno), ", skipped"));
      continue;
    }
    first = false;
    std::unique_ptr<DIR, int (*)(DIR*)> closer(handle, &::closedir);
    while (dirent* entry = ::readdir(handle)) {
      const std::string name = entry->d_name;
      if (!ServableName(name)) continue;  // also ".", "..", dotfiles
      const std::string key = d.key + name;
      const std::string resolved = RealPath(d.path + "/" + name);
      if (resolved.empty()) {
        root.warnings_.push_back(absl::StrCat(key, ": ", ErrnoText(errno), ", skipped"));
        continue;
      }
      // The check that keeps a symlink from publishing /etc/passwd.
      if (resolved.compare(0, prefix.size(), prefix) != 0) {
        root.warnings_.push_back(absl::StrCat(key, ": resolves outside the web root, skipped"));
        continue;
      }
      struct stat est;
      if (::lstat((d.path + "/" + name).c_str(), &est) != 0) continue;
      const bool is_link = S_ISLNK(est.st_mode);
      if (::stat(resolved.c_str(), &est) != 0) continue;
      if (S_ISDIR(est.st_mode)) {
        // Linked directories are not followed: a link back up would loop.
        if (is_link) {
          root.warnings_.push_back(absl::StrCat(key, ": linked directory, skipped"));
        } else if (d.depth + 1 > limits.max_depth) {
          root.warnings_.push_back(
              absl::StrCat(key, ": deeper than ", limits.max_depth, " levels, skipped"));
        } else {
          stack.push_back({resolved, key + "/", d.depth + 1});
        }
        continue;
      }
      if (!S_ISREG(est.st_mode)) continue;
      if (root.files_.size() >= limits.max_files) {
        root.warnings_.push_back(
            absl::StrCat(key, ": more than ", limits.max_files, " files, skipped"));
        continue;
      }
      // O_NOFOLLOW: the resolved path has no links; one swapped in since is refused.
      int fd = ::open(resolved.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) {
        root.warnings_.push_back(absl::StrCat(key, ": ", ErrnoText(errno), ", skipped"));
        continue;
      }
      struct stat fst;
      std::string content;
      bool ok = ::fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode);
      if (ok && static_cast<size_t>(fst.st_size) > limits.max_file_bytes) {
        root.warnings_.push_back(
            absl::StrCat(key, ": larger than ", limits.max_file_bytes, " bytes, skipped"));
        ok = false;
      } else if (ok &&
                 root.total_bytes_ + static_cast<size_t>(fst.st_size) > limits.max_total_bytes) {
        root.warnings_.push_back(
            absl::StrCat(key, ": the web root passes ", limits.max_total_bytes, " bytes, skipped"));
        ok = false;
      }
      if (ok) {
        content.resize(static_cast<size_t>(fst.st_size));
        size_t got = 0;
        while (got < content.size()) {
          ssize_t n = ::read(fd, content.data() + got, content.size() - got);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          got += static_cast<size_t>(n);
        }
        if (got != content.size()) {
          root.warnings_.push_back(absl::StrCat(key, ": short read, skipped"));
          ok = false;
        }
      }
      ::close(fd);
      if (!ok) continue;
      File file;
      file.content_type = ContentTypeFor(name);
      file.etag = ContentTag(content);
      file.immutable = IsHashedAssetName(name);
      file.content = std::move(content);
      root.total_bytes_ += file.content.size();
      root.files_.emplace(key, std::move(file));
    }
  }
  return root;
}

HttpResponse WebRoot::Serve(const HttpRequest& request) const {
  HttpResponse r;
  std::string key;
  switch (MapWebPath(request.target, &key)) {
    case WebPathResult::kOk:
      break;
    case WebPathResult::kTooLong:
      return TextResponse(414, "path too long\n", request.host);
    case WebPathResult::kBadRequest:
      return TextResponse(400, "bad path\n", request.host);
  }
  auto it = files_.find(key);
  if (it == files_.end()) return TextResponse(404, "not found\n", request.host);
  const File& file = it->second;
  const bool not_modified =
      !request.if_none_match.empty() && EtagMatches(request.if_none_match, file.etag);
  r.status = not_modified ? 304 : 200;
  r.headers.emplace_back("Content-Type", std::string(file.content_type));
  r.headers.emplace_back("Content-Length", std::to_string(not_modified ? 0 : file.content.size()));
  // Hashed names are content-addressed: a new build makes new names, so a year is safe.
  // Everything else (index.html above all, which names the hashed files) is revalidated
  // on each load, cheaply thanks to the ETag.
  r.headers.emplace_back("Cache-Control",
                         file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("ETag", file.etag);
  AddSecurityHeaders(request.host, &r.headers);
  r.body = file.content;
  r.send_body = !not_modified && request.method != "HEAD";
  return r;
}

HttpResponse TextResponse(int status, std::string_view body, std::string_view host) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  r.headers.emplace_back("Content-Length", std::to_string(body.size()));
  r.headers.emplace_back("Cache-Control", "no-store");
  AddSecurityHeaders(host, &r.headers);
  r.body = body;
  return r;
}

}  // namespace tutti::server

// Unit tests of the static file mapping (server/web_root.h) and the HTTP routes
// (server/http_site.h): traversal refusals, symlinks out of the root, content types,
// cache headers, CSP, HEAD and 405. Real files in a private temporary directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "crypto/base64url.h"
#include "crypto/json.h"
#include "gtest/gtest.h"
#include "server/config.h"
#include "server/http_site.h"
#include "server/web_root.h"

namespace tutti::server {
namespace {

WebPathResult Map(std::string_view target, std::string* key = nullptr) {
  std::string k;
  WebPathResult r = MapWebPath(target, &k);
  if (key) *key = k;
  return r;
}

TEST(MapWebPath, PlainPaths) {
  std::string key;
  EXPECT_EQ(Map("/", &key), WebPathResult::kOk);
  EXPECT_EQ(key, "index.html");
  EXPECT_EQ(Map("/app.js", &key), WebPathResult::kOk);
  EXPECT_EQ(key, "app.js");
  EXPECT_EQ(Map("/assets/app-3F2A9C1B.js", &key), WebPathResult::kOk);
  EXPECT_EQ(key, "assets/app-3F2A9C1B.js");
  EXPECT_EQ(Map("/assets/", &key), WebPathResult::kOk);
  EXPECT_EQ(key, "assets/index.html");
  EXPECT_EQ(Map("/index.html?v=2&x=/../y", &key), WebPathResult::kOk);
  EXPECT_EQ(key, "index.html");
  EXPECT_EQ(Map("/a%20b.js", &key), WebPathResult::kOk);
  EXPECT_EQ(key, "a b.js");
  EXPECT_EQ(Map("/x%2Ejs", &key), WebPathResult::kOk);  // one encoded dot is just a dot
  EXPECT_EQ(key, "x.js");
  EXPECT_EQ(Map("/...", &key), WebPathResult::kOk);  // not a traversal segment
  EXPECT_EQ(key, "...");
}

TEST(MapWebPath, RefusesEveryTraversalSpelling) {
  for (std::string_view bad : {"/..",
                               "/../",
                               "/../etc/passwd",
                               "/a/../b",
                               "/a/..",
                               "/.",
                               "/./a",
                               "/a/./b",
                               "/%2e%2e/etc/passwd",
                               "/%2E%2E/etc/passwd",
                               "/%2e%2E/x",
                               "/.%2e/x",
                               "/%2e./x",
                               "/a/%2e%2e/%2e%2e/x",
                               "/%2e",
                               "/a%2fb",
                               "/a%2Fb",
                               "/%2f",
                               "/..%2fetc%2fpasswd",
                               "/a%00b",
                               "/%00",
                               "/a\\b",
                               "/..\\..\\x",
                               "/a%5cb",
                               "/a%5Cb",
                               "//a",
                               "/a//b",
                               "//",
                               "/%",
                               "/%4",
                               "/%zz",
                               "/%g0",
                               "/a%0d%0aSet-Cookie:x",
                               "/a\rb",
                               "/a\x7f",
                               "relative",
                               "",
                               "http://example.com/",
                               "*"}) {
    EXPECT_EQ(Map(bad), WebPathResult::kBadRequest) << "\"" << bad << "\"";
  }
  EXPECT_EQ(Map(std::string_view("/a\0b", 4)), WebPathResult::kBadRequest);
}

TEST(MapWebPath, OverLongPaths) {
  std::string ok = "/" + std::string(kMaxWebPathBytes - 1, 'a');
  EXPECT_EQ(Map(ok), WebPathResult::kOk);
  EXPECT_EQ(Map(ok + "a"), WebPathResult::kTooLong);
  EXPECT_EQ(Map("/" + std::string(100000, 'a')), WebPathResult::kTooLong);
  // The query does not count.
  EXPECT_EQ(Map(ok + "?" + std::string(5000, 'q')), WebPathResult::kOk);
}

TEST(ContentType, KnownExtensions) {
  EXPECT_EQ(ContentTypeFor("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("a/app-3F2A9C1B.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("core.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("app.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("timing.wasm"), "application/wasm");
  EXPECT_EQ(ContentTypeFor("x.json"), "application/json");
  EXPECT_EQ(ContentTypeFor("app.js.map"), "application/json");
  EXPECT_EQ(ContentTypeFor("logo.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("logo.PNG"), "image/png");
  EXPECT_EQ(ContentTypeFor("favicon.ico"), "image/x-icon");
  EXPECT_EQ(ContentTypeFor("font.woff2"), "font/woff2");
  EXPECT_EQ(ContentTypeFor("README"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("x.exe"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("dir.html/file"), "application/octet-stream");
}

TEST(HashedNames, EsbuildStyleOnly) {
  EXPECT_TRUE(IsHashedAssetName("app-3F2A9C1B.js"));
  EXPECT_TRUE(IsHashedAssetName("assets/chunk-7QK2LM4D.js.map"));
  EXPECT_TRUE(IsHashedAssetName("timing-core-ABCDEFGH.wasm"));
  EXPECT_FALSE(IsHashedAssetName("index.html"));
  EXPECT_FALSE(IsHashedAssetName("app.js"));
  EXPECT_FALSE(IsHashedAssetName("app-settings.js"));    // lower case: a word, not a hash
  EXPECT_FALSE(IsHashedAssetName("app-3F2A9C1.js"));     // 7 characters
  EXPECT_FALSE(IsHashedAssetName("-3F2A9C1B.js"));       // no name
  EXPECT_FALSE(IsHashedAssetName("app-3F2A9C1B"));       // no extension
  EXPECT_FALSE(IsHashedAssetName("app-3F2A9C1B-x.js"));  // the hash is not last
}

TEST(Csp, StrictAndBoundToTheHost) {
  const std::string csp = ContentSecurityPolicy("127.0.0.1:8080");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self' 'wasm-unsafe-eval';"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080;"),
            std::string::npos)
      << csp;
  EXPECT_NE(csp.find("object-src 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("'unsafe-eval'"), std::string::npos);
  EXPECT_NE(ContentSecurityPolicy("[::1]:9000").find("ws://[::1]:9000 wss://[::1]:9000"),
            std::string::npos);
  EXPECT_NE(ContentSecurityPolicy("play.example.org").find("ws://play.example.org "),
            std::string::npos);
  // A forged Host cannot add policy or headers; the page still reaches 'self'.
  for (std::string_view evil :
       {"x; script-src *", "a b", "h\r\nSet-Cookie: x", "h:80x", "h:123456", "[::1", ":80", ""}) {
    const std::string p = ContentSecurityPolicy(evil);
    EXPECT_NE(p.find("connect-src 'self'; object-src"), std::string::npos) << evil << " -> " << p;
    EXPECT_EQ(p.find("ws://"), std::string::npos) << evil;
  }
}

// A private directory tree for WebRoot::Load, removed at the end.
class WebRootFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tutti-webroot-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/root";
    ASSERT_EQ(mkdir(root_.c_str(), 0700), 0);
    ASSERT_EQ(mkdir((root_ + "/assets").c_str(), 0700), 0);
    Write(root_ + "/index.html", "<!doctype html><script src=app-3F2A9C1B.js></script>");
    Write(root_ + "/app-3F2A9C1B.js", "console.log(1)");
    Write(root_ + "/assets/timing-ABCDEFGH.wasm", std::string("\0asm\1\0\0\0", 8));
    Write(root_ + "/assets/logo.svg", "<svg/>");
    Write(root_ + "/.hidden", "secret");
    Write(base_ + "/outside.txt", "outside the root");
    ASSERT_EQ(mkdir((base_ + "/outdir").c_str(), 0700), 0);
    Write(base_ + "/outdir/x.js", "outside too");
    ASSERT_EQ(symlink((base_ + "/outside.txt").c_str(), (root_ + "/escape.txt").c_str()), 0);
    ASSERT_EQ(symlink("../../outside.txt", (root_ + "/assets/rel-escape.txt").c_str()), 0);
    ASSERT_EQ(symlink((base_ + "/outdir").c_str(), (root_ + "/linkdir").c_str()), 0);
    ASSERT_EQ(symlink("logo.svg", (root_ + "/assets/alias.svg").c_str()), 0);
    ASSERT_EQ(symlink("/nonexistent/nothing", (root_ + "/dangling.js").c_str()), 0);
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + base_ + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }
  static void Write(const std::string& path, const std::string& data) {
    std::ofstream f(path, std::ios::binary);
    f << data;
  }
  static HttpRequest Get(std::string_view target, std::string_view method = "GET") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.host = "127.0.0.1:8080";
    return r;
  }

  std::string base_, root_;
};

TEST_F(WebRootFiles, ServesFilesWithTheirHeaders) {
  WebRoot root = WebRoot::Load(root_);
  ASSERT_TRUE(root.loaded()) << root.error();
  EXPECT_TRUE(root.has_index());
  EXPECT_EQ(root.file_count(), 5u);  // index, app, wasm, logo, alias

  HttpResponse index = root.Serve(Get("/"));
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<!doctype html><script src=app-3F2A9C1B.js></script>");
  EXPECT_EQ(index.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.Header("Cache-Control"), "no-cache");
  EXPECT_EQ(index.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(index.Header("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(index.Header("Content-Security-Policy"), ContentSecurityPolicy("127.0.0.1:8080"));
  EXPECT_EQ(index.Header("Content-Length"), std::to_string(index.body.size()));
  EXPECT_FALSE(index.Header("ETag").empty());
  EXPECT_EQ(root.Serve(Get("/index.html")).body, index.body);

  HttpResponse app = root.Serve(Get("/app-3F2A9C1B.js"));
  EXPECT_EQ(app.status, 200);
  EXPECT_EQ(app.Header("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(app.Header("Content-Type"), "text/javascript; charset=utf-8");

  HttpResponse wasm = root.Serve(Get("/assets/timing-ABCDEFGH.wasm"));
  EXPECT_EQ(wasm.status, 200);
  EXPECT_EQ(wasm.body, std::string_view("\0asm\1\0\0\0", 8));  // binary, NULs kept
  EXPECT_EQ(wasm.Header("Content-Type"), "application/wasm");
  EXPECT_EQ(wasm.Header("Content-Length"), "8");

  HttpResponse svg = root.Serve(Get("/assets/logo.svg"));
  EXPECT_EQ(svg.Header("Content-Type"), "image/svg+xml");
  EXPECT_EQ(svg.Header("Cache-Control"), "no-cache");
  // A link that stays inside the root is served.
  EXPECT_EQ(root.Serve(Get("/assets/alias.svg")).body, "<svg/>");
}

TEST_F(WebRootFiles, NothingOutsideTheRootNoListingNoHiddenFiles) {
  WebRoot root = WebRoot::Load(root_);
  ASSERT_TRUE(root.loaded()) << root.error();
  for (std::string_view missing :
       {"/escape.txt", "/assets/rel-escape.txt", "/linkdir/x.js", "/dangling.js", "/.hidden",
        "/assets", "/assets/", "/nothing.html", "/outside.txt", "/root/index.html"}) {
    EXPECT_EQ(root.Serve(Get(missing)).status, 404) << missing;
  }
  for (std::string_view bad :
       {"/../outside.txt", "/assets/../../outside.txt", "/%2e%2e/outside.txt",
        "/assets%2f..%2f..%2foutside.txt", "/..\\outside.txt", "/index.html%00.js"}) {
    HttpResponse r = root.Serve(Get(bad));
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(r.body.find("outside"), std::string_view::npos);
  }
  EXPECT_EQ(root.Serve(Get("/" + std::string(2000, 'a'))).status, 414);
  // Each skipped link is reported at startup.
  std::string all;
  for (const auto& w : root.warnings()) all += w + "\n";
  EXPECT_NE(all.find("escape.txt: resolves outside the web root"), std::string::npos) << all;
  EXPECT_NE(all.find("assets/rel-escape.txt: resolves outside"), std::string::npos) << all;
  EXPECT_NE(all.find("linkdir: resolves outside"), std::string::npos) << all;
}

TEST_F(WebRootFiles, ConditionalAndHead) {
  WebRoot root = WebRoot::Load(root_);
  HttpResponse first = root.Serve(Get("/"));
  const std::string etag(first.Header("ETag"));
  HttpRequest again = Get("/");
  again.if_none_match = etag;
  HttpResponse cached = root.Serve(again);
  EXPECT_EQ(cached.status, 304);
  EXPECT_FALSE(cached.send_body);
  const std::string list = "\"other\", W/" + etag;
  again.if_none_match = list;
  EXPECT_EQ(root.Serve(again).status, 304);
  again.if_none_match = "\"other\"";
  EXPECT_EQ(root.Serve(again).status, 200);

  HttpResponse head = root.Serve(Get("/app-3F2A9C1B.js", "HEAD"));
  EXPECT_EQ(head.status, 200);
  EXPECT_FALSE(head.send_body);
  EXPECT_EQ(head.Header("Content-Length"), "14");
}

TEST_F(WebRootFiles, SizeCapsSkipFiles) {
  WebRootLimits limits;
  limits.max_file_bytes = 10;  // index.html and the script are longer
  WebRoot root = WebRoot::Load(root_, limits);
  ASSERT_TRUE(root.loaded());
  EXPECT_EQ(root.Serve(Get("/")).status, 404);
  EXPECT_EQ(root.Serve(Get("/assets/logo.svg")).status, 200);
  std::string all;
  for (const auto& w : root.warnings()) all += w + "\n";
  EXPECT_NE(all.find("index.html: larger than 10 bytes, skipped"), std::string::npos) << all;

  WebRootLimits few;
  few.max_files = 2;
  EXPECT_EQ(WebRoot::Load(root_, few).file_count(), 2u);
  WebRootLimits shallow;
  shallow.max_depth = 0;
  WebRoot flat = WebRoot::Load(root_, shallow);
  EXPECT_EQ(flat.Serve(Get("/assets/logo.svg")).status, 404);
  EXPECT_EQ(flat.Serve(Get("/")).status, 200);
}

TEST_F(WebRootFiles, MissingOrWrongRootIsAClearErrorNotACrash) {
  WebRoot missing = WebRoot::Load(base_ + "/nope");
  EXPECT_FALSE(missing.loaded());
  EXPECT_NE(missing.error().find("No such file or directory"), std::string::npos)
      << missing.error();
  EXPECT_EQ(missing.Serve(Get("/")).status, 404);
  WebRoot file = WebRoot::Load(root_ + "/index.html");
  EXPECT_FALSE(file.loaded());
  EXPECT_NE(file.error().find("not a directory"), std::string::npos) << file.error();
  EXPECT_FALSE(WebRoot::Load("").loaded());
  if (geteuid() != 0) {  // root reads anything
    ASSERT_EQ(chmod(root_.c_str(), 0), 0);
    WebRoot unreadable = WebRoot::Load(root_);
    EXPECT_FALSE(unreadable.loaded());
    EXPECT_NE(unreadable.error().find("Permission denied"), std::string::npos)
        << unreadable.error();
    ASSERT_EQ(chmod(root_.c_str(), 0700), 0);
  }
}

TEST(HttpSite, RoutesMethodsAndServerInfo) {
  ServerConfig config;
  config.allow_guests = false;
  config.max_chat_length = 300;
  crypto::PublicKey key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
  HttpSite site(WebRoot::Load(""), ServerInfoJson(config, key, "tutti/9.9"));

  HttpRequest req;
  req.method = "GET";
  req.host = "127.0.0.1:1";
  req.target = "/healthz";
  HttpResponse health = site.Handle(req);
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");

  req.target = "/api/server-info";
  HttpResponse info = site.Handle(req);
  EXPECT_EQ(info.status, 200);
  EXPECT_EQ(info.Header("Content-Type"), "application/json");
  EXPECT_EQ(info.Header("Cache-Control"), "no-store");
  EXPECT_EQ(info.Header("Access-Control-Allow-Origin"), "");  // same-origin only
  auto json = crypto::ParseFlatJsonObject(info.body);
  ASSERT_TRUE(json.ok()) << json.status() << "\n" << info.body;
  std::string version, sealed, ws_path;
  bool guests = true;
  int64_t chat = 0, frame = 0;
  double notes = 0;
  EXPECT_TRUE(crypto::GetJsonString(*json, "version", true, &version).ok());
  EXPECT_TRUE(crypto::GetJsonString(*json, "seal_public_key", true, &sealed).ok());
  EXPECT_TRUE(crypto::GetJsonString(*json, "websocket_path", true, &ws_path).ok());
  EXPECT_TRUE(crypto::GetJsonBool(*json, "guests_allowed", true, &guests).ok());
  EXPECT_TRUE(crypto::GetJsonInt64(*json, "max_chat_length", true, &chat).ok());
  EXPECT_TRUE(crypto::GetJsonInt64(*json, "max_frame_bytes", true, &frame).ok());
  ASSERT_TRUE(json->contains("notes_per_second"));
  notes = json->at("notes_per_second").double_value;
  EXPECT_EQ(version, "tutti/9.9");
  EXPECT_EQ(ws_path, "/api/websocket/");
  EXPECT_FALSE(guests);
  EXPECT_EQ(chat, 300);
  EXPECT_EQ(frame, static_cast<int64_t>(config.max_frame_bytes));
  EXPECT_EQ(notes, config.notes_per_second);
  auto decoded = crypto::Base64UrlDecode(sealed);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, std::string(reinterpret_cast<const char*>(key.data()), key.size()));

  req.method = "HEAD";
  HttpResponse head = site.Handle(req);
  EXPECT_EQ(head.status, 200);
  EXPECT_FALSE(head.send_body);
  EXPECT_EQ(head.Header("Content-Length"), std::to_string(info.body.size()));

  for (std::string_view method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get", ""}) {
    req.method = method;
    HttpResponse r = site.Handle(req);
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.Header("Allow"), "GET, HEAD");
  }

  req.method = "GET";
  req.target = "/api/websocket/abc";  // an upgrade path without the upgrade
  EXPECT_EQ(site.Handle(req).status, 426);
  req.target = "/api/other";
  EXPECT_EQ(site.Handle(req).status, 404);
  req.target = "/";  // no web root: a clear 404, not a crash
  HttpResponse none = site.Handle(req);
  EXPECT_EQ(none.status, 404);
  EXPECT_NE(none.body.find("no web client"), std::string_view::npos);
}

}  // namespace
}  // namespace tutti::server

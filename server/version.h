// The server's version string, sent in Welcome and published at /api/server-info.
// A constant; no owner, readable from any thread.
#ifndef TUTTI_SERVER_VERSION_H_
#define TUTTI_SERVER_VERSION_H_

namespace tutti::server {

inline constexpr char kServerVersion[] = "tutti/0.1.0";

}  // namespace tutti::server

#endif  // TUTTI_SERVER_VERSION_H_

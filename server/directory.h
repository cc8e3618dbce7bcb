// Directory: who is online and where — user id and username to live sessions — for
// private messages (and, later, presence). Owned by Server and touched only on shard 0's
// thread; other shards reach it with posts (register, unregister, lookups).
#ifndef TUTTI_SERVER_DIRECTORY_H_
#define TUTTI_SERVER_DIRECTORY_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "server/ids.h"

namespace tutti::server {

class Directory {
 public:
  void Register(SessionId session, const std::string& user_id, const std::string& username);
  void Unregister(SessionId session, const std::string& user_id, const std::string& username);
  // `who` is a user id or a username (case-insensitive). Empty when offline.
  std::vector<SessionId> Find(const std::string& who, std::string* user_id) const;
  size_t online_users() const { return by_user_.size(); }

 private:
  struct Entry {
    std::string username;
    std::vector<SessionId> sessions;
  };
  std::unordered_map<std::string, Entry> by_user_;
  std::unordered_map<std::string, std::string> by_name_;  // lower-case name -> user id
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_DIRECTORY_H_

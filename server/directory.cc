#include "server/directory.h"

#include <algorithm>

namespace tutti::server {
namespace {

std::string Lower(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

void Directory::Register(SessionId session, const std::string& user_id,
                         const std::string& username) {
  Entry& e = by_user_[user_id];
  e.username = username;
  e.sessions.push_back(session);
  by_name_[Lower(username)] = user_id;
}

void Directory::Unregister(SessionId session, const std::string& user_id,
                           const std::string& username) {
  auto it = by_user_.find(user_id);
  if (it == by_user_.end()) return;
  auto& v = it->second.sessions;
  v.erase(std::remove(v.begin(), v.end(), session), v.end());
  if (v.empty()) {
    auto n = by_name_.find(Lower(username));
    if (n != by_name_.end() && n->second == user_id) by_name_.erase(n);
    by_user_.erase(it);
  }
}

std::vector<SessionId> Directory::Find(const std::string& who, std::string* user_id) const {
  auto it = by_user_.find(who);
  if (it == by_user_.end()) {
    auto n = by_name_.find(Lower(who));
    if (n == by_name_.end()) return {};
    it = by_user_.find(n->second);
    if (it == by_user_.end()) return {};
  }
  if (user_id) *user_id = it->first;
  return it->second.sessions;
}

}  // namespace tutti::server

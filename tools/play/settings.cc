#include "tools/play/settings.h"

#include <cstdio>
#include <fstream>

#include "tools/play/platform.h"

namespace tutti::play {

Settings::Settings(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) return;
  path_ = dir_ + "/play.conf";
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line) && values_.size() < 100) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos || line[0] == '#') continue;
    values_[line.substr(0, eq)] = line.substr(eq + 1);
  }
}

std::string Settings::Get(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? "" : it->second;
}

void Settings::Set(const std::string& key, const std::string& value) {
  std::string clean;
  for (char c : value) {
    if (c != '\n' && c != '\r') clean.push_back(c);
  }
  if (values_[key] == clean) return;
  values_[key] = clean;
  if (path_.empty() || !MakeDirs(dir_)) return;
  // Write a new file and rename it over the old: never a half-written file.
  const std::string tmp = path_ + ".new";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "# tutti-play remembers these choices (edit freely)\n";
    for (const auto& [k, v] : values_) out << k << "=" << v << "\n";
    if (!out) return;
  }
  std::rename(tmp.c_str(), path_.c_str());
}

}  // namespace tutti::play

// A fresh directory under the test temp dir, removed with everything in it when the
// object goes away. Store tests use real files, not :memory:, so that WAL, fsync and
// reopening behave as in production.
//
// Thread affinity: the test's thread. Ownership: the test fixture.
#ifndef TUTTI_TESTS_STORE_TEMP_DIR_H_
#define TUTTI_TESTS_STORE_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace tutti::server::store {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "tutti_store_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace tutti::server::store

#endif  // TUTTI_TESTS_STORE_TEMP_DIR_H_

#include "server/store/db.h"

#include <cstdio>

#include "absl/strings/match.h"
#include "server/moderation/string_view_compat.h"

namespace tutti::server::store {

using moderation::ToAbsl;

absl::Status Statement::Run() {
  return ForEachRow([](const Statement&) {});
}

bool Db::IsPostgresUrl(std::string_view location) {
  return absl::StartsWith(ToAbsl(location), "postgres://") ||
         absl::StartsWith(ToAbsl(location), "postgresql://");
}

void Db::NoteFailure(std::string_view error, std::string_view context) {
  if (episode_failures_++ == 0) {
    std::fprintf(stderr,
                 "tutti: store: operation failed (%.*s) in \"%.*s\"; writes fail "
                 "until the store recovers\n",
                 static_cast<int>(error.size()), error.data(), static_cast<int>(context.size()),
                 context.data());
  }
}

void Db::NoteDurableWrite() {
  if (episode_failures_ == 0) return;
  std::fprintf(stderr, "tutti: store: writing again after %llu failed operations\n",
               static_cast<unsigned long long>(episode_failures_));
  episode_failures_ = 0;
}

absl::StatusOr<std::unique_ptr<Transaction>> Transaction::Begin(Db& db) {
  if (absl::Status s = db.BeginWrite(); !s.ok()) return s;
  return std::unique_ptr<Transaction>(new Transaction(db));
}

Transaction::~Transaction() {
  if (!done_) (void)db_.Rollback();
}

absl::Status Transaction::Commit() {
  absl::Status status = db_.Commit();
  // A failed COMMIT may leave the transaction open (SQLite's BUSY); the destructor
  // rolls back.
  if (status.ok()) done_ = true;
  return status;
}

}  // namespace tutti::server::store

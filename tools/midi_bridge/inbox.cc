#include "tools/midi_bridge/inbox.h"

#include <utility>

namespace tutti::bridge {

void Inbox::Post(Item item) {
  std::lock_guard<std::mutex> lock(mu_);
  items_.push_back(std::move(item));
  cv_.notify_one();
}

void Inbox::PostClosed() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  cv_.notify_one();
}

void Inbox::Reopen() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = false;
  items_.clear();
}

void Inbox::Wake() {
  std::lock_guard<std::mutex> lock(mu_);
  woken_ = true;
  cv_.notify_one();
}

bool Inbox::Wait(std::chrono::steady_clock::time_point deadline, std::vector<Item>* out) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, deadline, [this] { return !items_.empty() || closed_ || woken_; });
  woken_ = false;
  while (!items_.empty()) {
    out->push_back(std::move(items_.front()));
    items_.pop_front();
  }
  return closed_;
}

NetworkPump::NetworkPump(client::Client* client, Inbox* inbox, std::function<int64_t()> local_now,
                         int path, bool report_close)
    : client_(client), inbox_(inbox), local_now_(std::move(local_now)) {
  thread_ = std::thread([this, path, report_close] {
    while (!stop_.load()) {
      auto m = client_->Next(std::chrono::milliseconds(50));
      if (m) {
        inbox_->Post({std::move(*m), local_now_(), path});
        continue;
      }
      if (!client_->is_open()) {
        // A link's end is not the session's: its owner only needs waking to notice it.
        if (report_close) {
          inbox_->PostClosed();
        } else {
          inbox_->Wake();
        }
        return;
      }
    }
  });
}

NetworkPump::~NetworkPump() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace tutti::bridge

#include "tools/midi_bridge/first_copy.h"

#include <algorithm>

namespace tutti::bridge {

bool FirstCopyFilter::Take(const proto::StreamPosition& p) {
  auto it = std::find_if(epochs_.begin(), epochs_.end(),
                         [&](const Epoch& e) { return e.epoch == p.epoch(); });
  if (it == epochs_.end()) {
    if (epochs_.size() == kEpochs) epochs_.pop_front();
    epochs_.push_back(Epoch{p.epoch(), false, 0, {}});
    it = std::prev(epochs_.end());
  }
  Epoch& e = *it;
  if ((e.forgot && p.offset() <= e.floor) || !e.taken.insert(p.offset()).second) {
    ++duplicates_;
    return false;
  }
  if (e.taken.size() > kWindow) {
    e.floor = *e.taken.begin();
    e.forgot = true;
    e.taken.erase(e.taken.begin());
  }
  ++kept_;
  return true;
}

}  // namespace tutti::bridge

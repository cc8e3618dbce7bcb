#include "server/loop_lag_probe.h"

#include <cstdint>
#include <utility>

namespace tutti::server {

LoopLagProbe::LoopLagProbe(boost::asio::io_context& io, metrics::ShardCounter* last_us,
                           metrics::ShardCounter* max_us, metrics::ShardCounter* probes,
                           std::function<void()> on_tick)
    : timer_(io),
      last_us_(last_us),
      max_us_(max_us),
      probes_(probes),
      on_tick_(std::move(on_tick)) {}

void LoopLagProbe::Start() { Arm(); }

void LoopLagProbe::Stop() {
  stopped_ = true;
  timer_.cancel();
}

void LoopLagProbe::Arm() {
  if (stopped_) return;
  timer_.expires_after(kPeriod);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    // The real steady clock on purpose: this measures the machine, not the protocol.
    const auto late = boost::asio::steady_timer::clock_type::now() - timer_.expiry();
    const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(late).count();
    const uint64_t lag = us > 0 ? static_cast<uint64_t>(us) : 0;
    last_us_->Set(lag);
    if (lag > max_us_->Get()) max_us_->Set(lag);
    probes_->Add();
    if (on_tick_) on_tick_();
    Arm();
  });
}

}  // namespace tutti::server

#include "tools/midi_bridge/linked_connection.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace tutti::bridge {

LinkedConnection::LinkedConnection(Inbox* inbox, std::function<int64_t()> local_now,
                                   LinkedConnectionOptions options)
    : inbox_(inbox),
      local_now_(std::move(local_now)),
      o_(std::move(options)),
      state_(o_.enabled ? State::kIdle : State::kOff),
      rng_(static_cast<unsigned>(local_now_())) {}

LinkedConnection::~LinkedConnection() { CloseLink(); }

void LinkedConnection::OnPrimaryOpen(client::Client* primary, std::string host, int port,
                                     ResourceFor resource_for) {
  primary_ = primary;
  host_ = std::move(host);
  port_ = port;
  resource_for_ = std::move(resource_for);
  in_room_ = false;
  replay_left_ = 0;
  if (state_ == State::kOff) return;
  CloseLink();
  // A retry that was waiting keeps its time; anything else starts over with this primary.
  if (state_ != State::kBackoff) state_ = State::kIdle;
}

void LinkedConnection::OnPrimaryLost() {
  primary_ = nullptr;
  in_room_ = false;
  replay_left_ = 0;
  if (state_ == State::kOff) return;
  CloseLink();
  state_ = State::kIdle;
}

void LinkedConnection::PrimarySaw(const std::string& epoch) {
  if (epoch.empty() ||
      std::find(primary_epochs_.begin(), primary_epochs_.end(), epoch) != primary_epochs_.end()) {
    return;
  }
  if (primary_epochs_.size() == FirstCopyFilter::kEpochs) primary_epochs_.pop_front();
  primary_epochs_.push_back(epoch);
}

bool LinkedConnection::FilterStream(const Inbox::Item& item, bool from_link) {
  if (from_link && std::find(primary_epochs_.begin(), primary_epochs_.end(),
                             item.message.stream().epoch()) == primary_epochs_.end()) {
    return false;  // not taken: the primary's copy is kept when it comes
  }
  if (!filter_.Take(item.message.stream())) return false;
  ++first_[from_link ? 1 : 0];
  return true;
}

bool LinkedConnection::Filter(const Inbox::Item& item, int64_t now) {
  if (state_ == State::kOff) return true;
  const proto::ClientMessage& m = item.message;
  if (item.path != 0) {
    if (item.path != path_ || !link_) return false;  // a closed link's leftovers
    if (m.has_link_status()) {
      if (m.link_status().attached() && state_ == State::kAttaching) {
        state_ = State::kAttached;
        attached_at_ = now;
        ++links_attached_;
        last_error_.clear();
      }
      return false;
    }
    if (m.has_error_message()) {
      // A refusal (then the close 4006) or UNSUPPORTED for something sent here by mistake.
      last_error_ = m.error_message().error_code() + " " + m.error_message().error_message();
      return false;
    }
    if (m.has_stream()) return FilterStream(item, true);
    return false;  // the link's heartbeat answers: the session's clock is the primary's
  }
  if (!request_id_.empty() && m.request_id() == request_id_) {
    request_id_.clear();
    if (state_ != State::kRequested) return false;  // answered after we gave up
    if (m.has_link_status() && !m.link_status().link_token().empty()) {
      StartConnect(m.link_status().link_token(), now);
    } else if (m.has_error_message()) {
      Fail("LINK refused: " + m.error_message().error_code() + " " +
               m.error_message().error_message(),
           now);
    } else {
      Fail("LINK answered without a token", now);
    }
    return false;
  }
  if (m.has_room_joined_response() && m.room_joined_response().success()) {
    in_room_ = true;
    PrimarySaw(m.room_joined_response().stream_position().epoch());
  }
  if (m.has_room_snapshot()) PrimarySaw(m.room_snapshot().stream_position().epoch());
  if (m.has_resume_result()) {
    const proto::ResumeResult& r = m.resume_result();
    in_room_ = !r.room_id().empty() && r.outcome() != proto::RESUME_REFUSED;
    replay_left_ = r.outcome() == proto::RESUME_RECOVERED ? r.replayed() : 0;
    PrimarySaw(r.snapshot().stream_position().epoch());
  }
  if (m.has_stream()) {
    PrimarySaw(m.stream().epoch());
    if (replay_left_ > 0) {
      // A resume's replay is delivered whole, whatever the old link brought first: the
      // session's resume bookkeeping counts it (client::ResumeState), and replayed MIDI is
      // fast-forwarded, never played, so a copy costs nothing.
      --replay_left_;
      filter_.Mark(m.stream());
      return true;
    }
    return FilterStream(item, false);
  }
  return true;
}

void LinkedConnection::Send(proto::ServerMessage m) {
  if (state_ != State::kOff && m.has_midi_message()) {
    // Numbered whether or not a link is up: the server takes each number once, so a batch
    // sent on both connections plays once (docs/PROTOCOL.md §16).
    m.mutable_midi_message()->set_sequence(++midi_numbered_);
    if (state_ == State::kAttached && link_) link_->Send(m);
  }
  if (primary_ != nullptr) primary_->Send(std::move(m));
}

void LinkedConnection::Request(int64_t now) {
  request_id_ = "link-" + std::to_string(++requests_);
  proto::ServerMessage ask;
  ask.mutable_server_command()->set_commandtype(proto::LINK);
  ask.set_request_id(request_id_);
  primary_->Send(std::move(ask));
  state_ = State::kRequested;
  deadline_ = now + o_.answer_timeout_us;
}

void LinkedConnection::StartConnect(const std::string& token, int64_t now) {
  absl::StatusOr<std::string> resource = resource_for_(token);
  if (!resource.ok()) return Fail(std::string(resource.status().message()), now);
  link_ = std::make_unique<client::Client>();
  connect_done_.store(false);
  state_ = State::kConnecting;
  // On its own thread: a connect can take up to its timeout, and the loop plays meanwhile.
  connect_thread_ = std::thread([this, c = link_.get(), host = host_, port = port_,
                                 res = std::move(*resource), timeout = o_.connect_timeout] {
    connect_result_ = c->Connect(host, static_cast<uint16_t>(port), res, timeout);
    connect_done_.store(true);
    inbox_->Wake();
  });
}

void LinkedConnection::Fail(const std::string& why, int64_t now) {
  last_error_ = why;
  CloseLink();
  ++failures_;
  const double base =
      std::min(static_cast<double>(o_.backoff_max_us),
               std::ldexp(static_cast<double>(o_.backoff_min_us), std::min(failures_ - 1, 10)));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  retry_at_ = now + static_cast<int64_t>(base * jitter(rng_));
  state_ = State::kBackoff;
}

void LinkedConnection::CloseLink() {
  if (connect_thread_.joinable()) {
    // A connect under way would hold the loop for up to its timeout: it is abandoned, and
    // the thread returns at once.
    link_->AbandonConnect();
    connect_thread_.join();
  }
  pump_.reset();  // before the client it reads from
  if (link_ && link_->is_open()) link_->Close(1000, "link closed");
  link_.reset();
  request_id_.clear();
}

void LinkedConnection::Poll(int64_t now) {
  switch (state_) {
    case State::kOff:
      return;
    case State::kIdle:
      if (in_room_ && primary_ != nullptr && primary_->is_open()) Request(now);
      return;
    case State::kBackoff:
      if (now < retry_at_) return;
      state_ = State::kIdle;
      if (in_room_ && primary_ != nullptr && primary_->is_open()) Request(now);
      return;
    case State::kRequested:
      if (now >= deadline_) Fail("no answer to LINK", now);
      return;
    case State::kConnecting: {
      if (!connect_done_.load()) return;
      connect_thread_.join();
      if (!connect_result_.ok) {
        return Fail("link connect failed: " +
                        (connect_result_.http_status != 0
                             ? std::to_string(connect_result_.http_status) + " "
                             : std::string()) +
                        connect_result_.error,
                    now);
      }
      pump_ = std::make_unique<NetworkPump>(link_.get(), inbox_, local_now_, ++path_, false);
      state_ = State::kAttaching;
      deadline_ = now + o_.answer_timeout_us;
      return;
    }
    case State::kAttaching:
    case State::kAttached: {
      if (!link_->is_open()) {
        uint16_t code = 0;
        std::string reason;
        link_->WaitClosed(std::chrono::milliseconds(0), &code, &reason);
        last_close_code_ = code;
        if (state_ == State::kAttached) ++links_lost_;
        const std::string before = last_error_;
        // 4007: the session ended or was parked; the primary's loss follows and a resume
        // asks again at once. Otherwise (the network, a refusal 4006) after a backoff.
        return Fail("link closed (code " + std::to_string(code) +
                        (reason.empty() ? "" : ": " + reason) + ")" +
                        (before.empty() ? "" : ", " + before),
                    now);
      }
      if (state_ == State::kAttaching && now >= deadline_) return Fail("link not attached", now);
      if (state_ == State::kAttached && failures_ > 0 && now - attached_at_ >= o_.stable_us) {
        failures_ = 0;
      }
      return;
    }
  }
}

int64_t LinkedConnection::NextWake() const {
  switch (state_) {
    case State::kBackoff:
      return retry_at_;
    case State::kRequested:
    case State::kAttaching:
      return deadline_;
    case State::kAttached:
      return failures_ > 0 ? attached_at_ + o_.stable_us : INT64_MAX;
    default:
      return INT64_MAX;  // the connect thread and the link's pump wake the loop
  }
}

std::string LinkedConnection::Describe(int64_t now) const {
  switch (state_) {
    case State::kOff:
      return "link off";
    case State::kIdle:
      return "link idle";
    case State::kBackoff: {
      const int64_t in_s = (std::max<int64_t>(0, retry_at_ - now) + 999999) / 1000000;
      return "link retry in " + std::to_string(in_s) + " s" +
             (last_error_.empty() ? "" : " (" + last_error_ + ")");
    }
    case State::kRequested:
      return "link requested";
    case State::kConnecting:
      return "link connecting";
    case State::kAttaching:
      return "link attaching";
    case State::kAttached:
      return "link on";
  }
  return "link";
}

void LinkedConnection::DropLinkForTest() {
  if (link_) link_->Drop();
}

}  // namespace tutti::bridge

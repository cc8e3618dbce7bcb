// OutboundConnection: Tutti's websocketpp transport connection (TcpConnection, the
// socket half, in server/ws_tcp_connection.h) with Tutti's own outbound queue (every
// byte of an open connection leaves through one FIFO, flushed once per loop turn with
// one sendmsg per connection), and the per-endpoint FlushQueue it uses.
// Included only by server/ws_outbound_endpoint.h: websocketpp stays in the endpoint's
// files. Thread affinity: one shard thread (the endpoint's); an object is owned by
// websocketpp's connection (it is its transport base) and by the flush queue while
// listed there.
#ifndef TUTTI_SERVER_WS_OUTBOUND_CONNECTION_H_
#define TUTTI_SERVER_WS_OUTBOUND_CONNECTION_H_

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <websocketpp/transport/base/connection.hpp>

#include "server/frame.h"
#include "server/ws_tcp_connection.h"

namespace tutti::server::ws {

template <typename cfg>
class OutboundConnection;

// What one endpoint (so one shard thread) still has to do before its loop turn ends:
// websocketpp's deferred dispatch handlers, then the connections with bytes to write.
// It also keeps the sum of its connections' QueuedBytes(), so the shard's gauge of
// queued bytes is one read, not a visit to every connection (idle shards stay idle).
// See OutboundConnection.
template <typename cfg>
struct FlushQueue {
  std::vector<websocketpp::transport::dispatch_handler> handlers;
  std::vector<std::shared_ptr<OutboundConnection<cfg>>> dirty;
  bool posted = false;
  size_t queued_bytes = 0;  // the sum of QueuedBytes() over the connections using it
};

// Tutti's transport connection with its own outbound queue.
//
// Stock websocketpp turns every send into a posted write_frame (a heap-allocated
// std::function), an Asio composed write registered with the reactor (a mutex, epoll
// bookkeeping) and a posted completion: a whole write cycle per frame whenever each
// connection gets one frame per loop turn, as in rooms, where the server's core
// saturated at ~8 us per delivery (docs/PERFORMANCE.md).
//
// Here every outbound byte of an open connection goes through one FIFO owned by this
// object: Tutti's data frames (SendFrame: the shared prepared frame itself, no copy),
// and whatever websocketpp writes after the handshake (close frames, pongs), which
// arrives through async_write and is queued in order behind them, so the two can never
// interleave on the wire. A connection with something queued is listed once on its
// endpoint's FlushQueue; one posted flush per loop turn writes each listed connection
// with a single non-blocking sendmsg. Asio runs that post after every completion the
// reactor harvested in the same turn, so a connection that received several frames in
// the turn gets them in one syscall: at light load a turn holds one or two events and
// nothing waits, under load batches grow and the cost per delivery falls. Only when the
// kernel's socket buffer is full (a slow reader) does the connection wait for it to
// become writable; what is still queued then counts against the session's outbound
// limits (BufferedBytes).
//
// dispatch() (which websocketpp uses to start its write_frame, and to pause or resume
// reading, which Tutti does not use) is deferred to the same flush instead of posted one
// by one. websocketpp's write completions run from the flush or from the writability
// wait, never inside a call from Tutti's code: websocketpp may terminate the connection
// from them, and the caller could be a room iterating over its members.
//
// The HTTP handshake's writes (the char* overload) are TcpConnection's plain Asio
// writes; nothing of Tutti's is sent before the open handler runs, which is after that
// write completed.
template <typename cfg>
class OutboundConnection : public TcpConnection<cfg> {
 public:
  typedef TcpConnection<cfg> base;
  typedef OutboundConnection<cfg> type;
  typedef std::shared_ptr<type> ptr;

  OutboundConnection(bool is_server, const std::shared_ptr<typename cfg::alog_type>& alog,
                     const std::shared_ptr<typename cfg::elog_type>& elog)
      : base(is_server, alog, elog) {}
  ~OutboundConnection() { Unqueued(queued_bytes_); }

  // Once, before anything is queued (the endpoint's init).
  void set_flush_queue(std::shared_ptr<FlushQueue<cfg>> q) { flush_ = std::move(q); }

  // Queues one prepared frame behind everything queued before it.
  void SendFrame(const Frame& frame) {
    if (failed_) return;
    queue_.push_back(Item{frame});
    Queued(frame->wire_size());
    MarkDirty();
  }

  // Bytes queued here that the kernel has not taken yet.
  size_t QueuedBytes() const { return queued_bytes_; }

  // Drops Tutti's frames that have not started on the wire: the one partly written
  // stays (the stream must stay well-framed), and so do websocketpp's own (at most one,
  // whose completion it waits for). What websocketpp queues next (its close frame)
  // then follows right behind what the kernel already holds.
  void DropQueuedFrames() {
    size_t keep = head_;
    if (head_ < queue_.size() && head_offset_ > 0) ++keep;  // partly written
    size_t out = keep;
    for (size_t i = keep; i < queue_.size(); ++i) {
      if (queue_[i].frame) {
        Unqueued(queue_[i].frame->wire_size());
        continue;
      }
      queue_[out++] = std::move(queue_[i]);
    }
    queue_.resize(out);
  }

 protected:
  void async_write(const char* buf, size_t len, websocketpp::transport::write_handler handler) {
    base::async_write(buf, len, std::move(handler));
  }

  // websocketpp's own frames. It keeps `bufs` (and the frames they point into) alive and
  // starts no other write until `handler` has run, so at most one of these is queued.
  void async_write(const std::vector<websocketpp::transport::buffer>& bufs,
                   const websocketpp::transport::write_handler& handler) {
    if (failed_) {
      Post(handler, Failure());
      return;
    }
    size_t n = 0;
    for (const auto& b : bufs) n += b.len;
    if (n == 0) {
      Post(handler, websocketpp::lib::error_code());
      return;
    }
    ws_bufs_ = &bufs;
    ws_handler_ = handler;
    queue_.push_back(Item{nullptr, n});
    Queued(n);
    MarkDirty();
  }

  websocketpp::lib::error_code dispatch(websocketpp::transport::dispatch_handler handler) {
    flush_->handlers.push_back(std::move(handler));
    PostFlush();
    return websocketpp::lib::error_code();
  }

 private:
  // A queued frame of Tutti's, or (frame == nullptr) websocketpp's pending buffers.
  struct Item {
    Frame frame;
    size_t ws_size = 0;
  };

  void MarkDirty() {
    if (dirty_ || waiting_) return;  // already listed, or waiting for room
    dirty_ = true;
    flush_->dirty.push_back(std::static_pointer_cast<type>(this->get_shared()));
    PostFlush();
  }

  void PostFlush() {
    if (flush_->posted) return;
    flush_->posted = true;
    boost::asio::post(this->get_socket().get_executor(), [q = flush_] { Flush(*q); });
  }

  static void Flush(FlushQueue<cfg>& q) {
    q.posted = false;
    // Handlers first: they are websocketpp's write_frame calls, which queue its frames.
    // Anything they or the writes below start lands in fresh vectors for the next turn.
    std::vector<websocketpp::transport::dispatch_handler> handlers;
    handlers.swap(q.handlers);
    for (auto& h : handlers) h();
    std::vector<std::shared_ptr<type>> dirty;
    dirty.swap(q.dirty);
    for (auto& con : dirty) {
      con->dirty_ = false;
      con->WriteQueued();
    }
  }

  // Writes as much of the queue as the kernel takes, oldest first.
  void WriteQueued() {
    // Two buffers per frame of ours; websocketpp's frames bring their own count.
    constexpr size_t kMaxIov = 64;
    iovec iov[kMaxIov];
    while (head_ < queue_.size() && !failed_) {
      size_t n_iov = 0;
      size_t total = 0;
      size_t skip = head_offset_;
      auto add = [&](const char* p, size_t len) {
        if (skip >= len) {
          skip -= len;
          return;
        }
        iov[n_iov].iov_base = const_cast<char*>(p + skip);
        iov[n_iov].iov_len = len - skip;
        total += len - skip;
        ++n_iov;
        skip = 0;
      };
      for (size_t i = head_; i < queue_.size(); ++i) {
        const Item& item = queue_[i];
        if (item.frame) {
          if (n_iov + 2 > kMaxIov) break;
          add(item.frame->header().data(), item.frame->header().size());
          add(item.frame->payload().data(), item.frame->payload().size());
        } else {
          if (n_iov + ws_bufs_->size() > kMaxIov && n_iov > 0) break;
          for (const auto& b : *ws_bufs_) {
            if (n_iov == kMaxIov) break;
            add(b.buf, b.len);
          }
        }
        if (n_iov == kMaxIov) break;
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = n_iov;
      ssize_t written;
      do {
        written = ::sendmsg(this->get_socket().native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      } while (written < 0 && errno == EINTR);
      if (written < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        Fail();
        return;
      }
      Consume(static_cast<size_t>(written));
      if (static_cast<size_t>(written) < total) break;  // the socket buffer is full
    }
    if (failed_) return;
    if (head_ == queue_.size()) {
      queue_.clear();
      head_ = 0;
      return;
    }
    // A reader that never quite catches up never empties the queue: drop the written
    // items once they are half of it, so it cannot grow by one per frame forever.
    if (head_ >= 64 && 2 * head_ >= queue_.size()) {
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    // A slow reader: wait until the kernel has room again. New frames queue meanwhile.
    waiting_ = true;
    this->get_socket().async_wait(boost::asio::ip::tcp::socket::wait_write,
                                  [self = std::static_pointer_cast<type>(this->get_shared())](
                                      const boost::system::error_code& ec) {
                                    self->waiting_ = false;
                                    if (ec) {
                                      self->Fail();
                                    } else {
                                      self->WriteQueued();
                                    }
                                  });
  }

  // Drops `n` written bytes from the front of the queue; websocketpp learns that its
  // frames are out once their last byte is.
  void Consume(size_t n) {
    Unqueued(n);
    while (n > 0) {
      Item& item = queue_[head_];
      const size_t size = item.frame ? item.frame->wire_size() : item.ws_size;
      const size_t left = size - head_offset_;
      if (n < left) {
        head_offset_ += n;
        return;
      }
      n -= left;
      head_offset_ = 0;
      ++head_;
      if (item.frame) {
        item.frame.reset();
      } else {
        ws_bufs_ = nullptr;
        websocketpp::transport::write_handler h = std::move(ws_handler_);
        ws_handler_ = nullptr;
        h(websocketpp::lib::error_code());  // may queue more, or terminate
        if (failed_) return;
      }
    }
  }

  // The socket is gone (reset, closed, or terminated by websocketpp): nothing queued can
  // be delivered any more. websocketpp hears of it through its pending write, if any;
  // otherwise its read fails the same way.
  void Fail() {
    failed_ = true;
    websocketpp::transport::write_handler h = std::move(ws_handler_);
    ws_handler_ = nullptr;
    ws_bufs_ = nullptr;
    queue_.clear();
    head_ = 0;
    head_offset_ = 0;
    Unqueued(queued_bytes_);
    if (h) {
      h(Failure());
    } else {
      // websocketpp has no write pending to tell it; make its pending read fail now
      // rather than whenever the peer's next bytes (or their absence) show it.
      boost::system::error_code ec;
      this->get_socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    }
  }

  // What websocketpp hears once the socket failed (as from its Asio transport).
  static websocketpp::lib::error_code Failure() {
    return websocketpp::transport::error::make_error_code(
        websocketpp::transport::error::pass_through);
  }

  // queued_bytes_ and the flush queue's sum move together.
  void Queued(size_t n) {
    queued_bytes_ += n;
    flush_->queued_bytes += n;
  }
  void Unqueued(size_t n) {
    if (n == 0) return;  // also: a connection that never got its flush queue
    queued_bytes_ -= n;
    flush_->queued_bytes -= n;
  }

  void Post(const websocketpp::transport::write_handler& handler, websocketpp::lib::error_code ec) {
    boost::asio::post(this->get_socket().get_executor(),
                      [self = this->get_shared(), h = handler, ec] { h(ec); });
  }

  std::shared_ptr<FlushQueue<cfg>> flush_;
  std::vector<Item> queue_;  // [head_, end) not yet fully written
  size_t head_ = 0;
  size_t head_offset_ = 0;  // bytes of queue_[head_] already written
  size_t queued_bytes_ = 0;
  const std::vector<websocketpp::transport::buffer>* ws_bufs_ = nullptr;
  websocketpp::transport::write_handler ws_handler_;
  bool dirty_ = false;    // listed on flush_->dirty
  bool waiting_ = false;  // an async_wait for room is pending
  bool failed_ = false;
};

}  // namespace tutti::server::ws

#endif  // TUTTI_SERVER_WS_OUTBOUND_CONNECTION_H_

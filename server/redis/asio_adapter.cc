#include "server/redis/asio_adapter.h"

#include <memory>

#include <boost/asio/posix/stream_descriptor.hpp>

namespace tutti::server::redis {
namespace {

// The state of one attached context. Pending waits hold a shared_ptr to it, so it
// outlives the context: a wait that completes after cleanup finds ac == nullptr and
// does nothing.
struct AsioEvents {
  AsioEvents(redisAsyncContext* c, boost::asio::io_context& io) : ac(c), socket(io, c->c.fd) {}
  redisAsyncContext* ac;
  boost::asio::posix::stream_descriptor socket;
  bool want_read = false;
  bool want_write = false;
  bool read_armed = false;
  bool write_armed = false;
};

using Holder = std::shared_ptr<AsioEvents>;

void ArmRead(const Holder& self) {
  if (self->read_armed || !self->want_read || self->ac == nullptr) return;
  self->read_armed = true;
  self->socket.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                          [self](const boost::system::error_code& ec) {
                            self->read_armed = false;
                            if (ec || self->ac == nullptr || !self->want_read) return;
                            // May free the context (cleanup below clears ac).
                            redisAsyncHandleRead(self->ac);
                            ArmRead(self);
                          });
}

void ArmWrite(const Holder& self) {
  if (self->write_armed || !self->want_write || self->ac == nullptr) return;
  self->write_armed = true;
  self->socket.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                          [self](const boost::system::error_code& ec) {
                            self->write_armed = false;
                            if (ec || self->ac == nullptr || !self->want_write) return;
                            redisAsyncHandleWrite(self->ac);
                            ArmWrite(self);
                          });
}

Holder& Of(void* data) { return *static_cast<Holder*>(data); }

void AddRead(void* data) {
  Holder& self = Of(data);
  self->want_read = true;
  ArmRead(self);
}

void DelRead(void* data) { Of(data)->want_read = false; }

void AddWrite(void* data) {
  Holder& self = Of(data);
  self->want_write = true;
  ArmWrite(self);
}

void DelWrite(void* data) { Of(data)->want_write = false; }

// hiredis is about to free the context and close its socket: stop waiting on it and
// give the descriptor back without closing it.
void Cleanup(void* data) {
  Holder* holder = static_cast<Holder*>(data);
  AsioEvents& self = **holder;
  self.ac = nullptr;
  self.want_read = self.want_write = false;
  boost::system::error_code ignored;
  self.socket.cancel(ignored);
  self.socket.release();
  delete holder;
}

}  // namespace

bool AttachAsio(redisAsyncContext* ac, boost::asio::io_context& io) {
  if (ac->ev.data != nullptr) return false;
  auto* holder = new Holder(std::make_shared<AsioEvents>(ac, io));
  ac->ev.data = holder;
  ac->ev.addRead = AddRead;
  ac->ev.delRead = DelRead;
  ac->ev.addWrite = AddWrite;
  ac->ev.delWrite = DelWrite;
  ac->ev.cleanup = Cleanup;
  AddWrite(holder);
  return true;
}

}  // namespace tutti::server::redis

// AttachAsio: runs a hiredis asynchronous context on a Boost.Asio io_context. hiredis
// 0.14 (Debian 12) ships adapters for libevent, libev, libuv and others but none for
// Asio; its event hooks are five callbacks (add/del read, add/del write, cleanup) and
// this file implements them with one-shot async_wait calls on the context's socket.
// Thread affinity: the io_context's thread; the context must only be used there.
// Owner: the hiredis context (its cleanup hook frees what this attaches).
#ifndef TUTTI_SERVER_REDIS_ASIO_ADAPTER_H_
#define TUTTI_SERVER_REDIS_ASIO_ADAPTER_H_

#include <hiredis/async.h>

#include <boost/asio/io_context.hpp>

namespace tutti::server::redis {

// Attaches `ac` (fresh from redisAsyncConnect, ac->err == 0) to `io`, and waits for the
// socket to become writable so that the non-blocking connect completes (hiredis 0.14
// only asks for that once a command is queued). False when the context already has an
// event library attached. The context's socket is never closed here: hiredis owns it.
bool AttachAsio(redisAsyncContext* ac, boost::asio::io_context& io);

}  // namespace tutti::server::redis

#endif  // TUTTI_SERVER_REDIS_ASIO_ADAPTER_H_

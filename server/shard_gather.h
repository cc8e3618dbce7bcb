// GatherFromShards: ask every shard of the cluster for a value and hand all the answers,
// in shard order, to one callback on the asking shard — the scatter-gather that the room
// list and the server status need, written once on top of the typed calls (shard.h).
//
// Thread affinity: called on a shard thread (`origin`'s). `ask` runs on each shard's own
// thread (at once for the origin itself, a post for the others); `done` runs on the
// origin's thread after the last answer arrived. The gather's state is a shared_ptr
// touched only on the origin's thread, so nothing takes a lock. `ask` is copied to every
// shard and must capture values only (shard.h's rule for typed calls).
// Owner: nobody; each call's state lives until `done` has run.
#ifndef TUTTI_SERVER_SHARD_GATHER_H_
#define TUTTI_SERVER_SHARD_GATHER_H_

#include <memory>
#include <utility>
#include <vector>

#include "server/shard.h"

namespace tutti::server {

// T ask(Shard& target); void done(std::vector<T> answers), answers[i] from shard i.
template <typename T, typename Ask, typename Done>
void GatherFromShards(Shard& origin, Ask ask, Done done) {
  struct State {
    int pending;
    std::vector<T> answers;
    Done done;
  };
  const int count = origin.cluster().shard_count();
  auto state = std::make_shared<State>(State{count, std::vector<T>(count), std::move(done)});
  const int home = origin.index();
  for (int i = 0; i < count; ++i) {
    origin.OnShard(i, [state, ask, home, i](Shard& target) mutable {
      target.OnShard(home, [state, i, answer = ask(target)](Shard&) mutable {
        state->answers[i] = std::move(answer);
        if (--state->pending > 0) return;
        state->done(std::move(state->answers));
      });
    });
  }
}

}  // namespace tutti::server

#endif  // TUTTI_SERVER_SHARD_GATHER_H_

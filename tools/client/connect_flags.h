// The connection flags tutti-cli and tutti-midi-bridge share (--url, or --keys with --host,
// --port, --name, --user-id, --guest, --roles, --token-ttl), defined in connect_flags.cc
// beside ConnectOptions, which they fill.
//
// Owns: those flag definitions and the one place that reads them. Thread affinity: main
// thread, after tutti::main_support::ParseFlags. Owner: the mains that link
// tutti_client_flags (a separate library, so that programs using the client without these
// flags do not carry them).
#ifndef TUTTI_TOOLS_CLIENT_CONNECT_FLAGS_H_
#define TUTTI_TOOLS_CLIENT_CONNECT_FLAGS_H_

#include <string>

#include "tools/client/connect_target.h"

namespace tutti::client {

// ConnectOptions from the flags. `default_name` is used when --name is not given and
// `id_prefix` makes the default user id (id_prefix + name). A usage error (neither --url
// nor --keys, a --token-ttl below 1) ends the process through main_support::UsageError.
ConnectOptions ConnectOptionsFromFlags(const std::string& default_name,
                                       const std::string& id_prefix);

}  // namespace tutti::client

#endif  // TUTTI_TOOLS_CLIENT_CONNECT_FLAGS_H_

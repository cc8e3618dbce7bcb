// ServiceNotify: tells a supervisor what tutti-server is doing, through libsystemd's
// sd_notify (the NOTIFY_SOCKET protocol; contrib/systemd/tutti.service runs the server with
// Type=notify): READY=1 once every listener is bound, RELOADING=1 then READY=1 around a
// SIGHUP reload, STOPPING=1 when a drain before exit starts. Without NOTIFY_SOCKET (not under
// systemd) every call does nothing.
//
// Owns: nothing (stateless calls). Thread affinity: tutti-server's main thread. Owner:
// server/main.cc (only tutti-server links it).
#ifndef TUTTI_SERVER_SERVICE_NOTIFY_H_
#define TUTTI_SERVER_SERVICE_NOTIFY_H_

#include <string>

namespace tutti::server::service_notify {

// READY=1 with a STATUS line for `systemctl status`.
void Ready(const std::string& status);
void Reloading();
// STOPPING=1 with a STATUS line.
void Stopping(const std::string& status);

}  // namespace tutti::server::service_notify

#endif  // TUTTI_SERVER_SERVICE_NOTIFY_H_

#include "server/service_notify.h"

#include <systemd/sd-daemon.h>

#include <string>

namespace tutti::server::service_notify {
namespace {

// A STATUS value is one line: anything after a newline would be read as another
// assignment.
std::string OneLine(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}

}  // namespace

void Ready(const std::string& status) {
  sd_notify(0, ("READY=1\nSTATUS=" + OneLine(status)).c_str());
}

void Reloading() { sd_notify(0, "RELOADING=1"); }

void Stopping(const std::string& status) {
  sd_notify(0, ("STOPPING=1\nSTATUS=" + OneLine(status)).c_str());
}

}  // namespace tutti::server::service_notify

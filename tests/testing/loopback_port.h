// LoopbackPort: a TCP port on 127.0.0.1 that the test holds so that nothing else takes
// it, in one of two states a test needs to stand in for a peer: bound and never listened
// on (a connect is refused at once: "nothing is there"), or listening with nobody ever
// accepting or reading (the kernel completes handshakes, then the peer says nothing: "a
// stalled path"). The kernel picks the port.
// Owns: the socket, closed by the destructor or Close(). Thread affinity: none (the test's
// thread). Owner: the test that made it. Header-only.
#ifndef TUTTI_TESTS_TESTING_LOOPBACK_PORT_H_
#define TUTTI_TESTS_TESTING_LOOPBACK_PORT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace tutti::testing {

class LoopbackPort {
 public:
  enum class Mode { kRefusing, kSilent };

  explicit LoopbackPort(Mode mode) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        (mode == Mode::kSilent && ::listen(fd_, 8) != 0) ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      Close();
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~LoopbackPort() { Close(); }
  LoopbackPort(const LoopbackPort&) = delete;
  LoopbackPort& operator=(const LoopbackPort&) = delete;

  // 0 when the socket could not be made (the test should fail on that).
  uint16_t port() const { return port_; }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_TESTING_LOOPBACK_PORT_H_

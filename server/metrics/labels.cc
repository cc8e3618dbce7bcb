#include "server/metrics/labels.h"

namespace tutti::server::metrics {

const char* RateBucketName(RateBucket b) {
  switch (b) {
    case RateBucket::kRequest:
      return "request";
    case RateBucket::kJoin:
      return "join";
    case RateBucket::kLeave:
      return "leave";
    case RateBucket::kChat:
      return "chat";
    case RateBucket::kAvatar:
      return "avatar";
    case RateBucket::kMidiNotes:
      return "midi_notes";
    case RateBucket::kMidiReleases:
      return "midi_releases";
    case RateBucket::kMidiControllers:
      return "midi_controllers";
    case RateBucket::kBusy:
      return "busy";
    case RateBucket::kLink:
      return "link";
    case RateBucket::kCount:
      break;
  }
  return "other";
}

const char* RefusalReasonName(RefusalReason r) {
  switch (r) {
    case RefusalReason::kServerFull:
      return "server_full";
    case RefusalReason::kAddressFull:
      return "address_full";
    case RefusalReason::kGuestsFull:
      return "guests_full";
    case RefusalReason::kAttempts:
      return "attempts";
    case RefusalReason::kFailureBrake:
      return "failure_brake";
    case RefusalReason::kBanned:
      return "banned";
    case RefusalReason::kUnknownPath:
      return "unknown_path";
    case RefusalReason::kAuth:
      return "auth";
    case RefusalReason::kMaintenance:
      return "maintenance";
    case RefusalReason::kProxyHeader:
      return "proxy_header";
    case RefusalReason::kOther:
    case RefusalReason::kCount:
      break;
  }
  return "other";
}

}  // namespace tutti::server::metrics

// Conversions between std::string_view and absl::string_view.
//
// Thread affinity: none. Ownership: none (inline functions).
//
// Debian's abseil 20220623 is built with ABSL_OPTION_USE_STD_STRING_VIEW=0, so
// absl::string_view is its own class and neither view converts to the other
// implicitly. Project APIs take std::string_view; code that hands a view to abseil
// (StrCat, Status messages, heterogeneous hash-map lookup) converts here.
#ifndef TUTTI_SERVER_MODERATION_STRING_VIEW_COMPAT_H_
#define TUTTI_SERVER_MODERATION_STRING_VIEW_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace tutti::server::moderation {

inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace tutti::server::moderation

#endif  // TUTTI_SERVER_MODERATION_STRING_VIEW_COMPAT_H_

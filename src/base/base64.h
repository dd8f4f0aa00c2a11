// Standard base64 (RFC 4648 §4, with padding) for SASL payloads.
#pragma once

#include <string>
#include <string_view>

namespace mailark {

std::string base64Encode(std::string_view bytes);

}  // namespace mailark

// Appends a JSON string literal (with quotes) for UTF-8 or arbitrary bytes.
#pragma once

#include <string>
#include <string_view>

namespace mailark {

// Control characters and quotes are escaped; bytes that are not valid UTF-8
// are written as \u00XX of the byte value so the output is always valid JSON.
void appendJsonString(std::string& out, std::string_view value);

}  // namespace mailark

// Small text formatting helpers for command output.
#pragma once

#include <cstdint>
#include <string>

namespace mailark::cli {

// "0 B", "1.5 KiB", "12.3 MiB", "1.02 GiB"
std::string humanBytes(uint64_t bytes);

}  // namespace mailark::cli

// Interprets the data lines of POP3 replies (UIDL, CAPA). Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailark/status.h"

namespace mailark::pop3 {

struct UidlEntry {
  uint32_t number = 0;  // message number in this session
  std::string uidl;     // 1-70 characters in 0x21..0x7E (RFC 1939 section 7)
};

// Parses one line of a multi-line UIDL reply: "<number> SP <uidl>".
// ProtocolError when the number is missing, zero or too large, or the
// UIDL is empty, over 70 characters or contains a byte outside 0x21..0x7E.
Result<UidlEntry> parseUidlLine(std::string_view line);

// Checks a whole UIDL listing: unique message numbers and unique UIDLs.
// A duplicate UIDL would make two messages indistinguishable for every
// later run, so it is a ProtocolError naming the UIDL.
Status checkUidlListing(const std::vector<UidlEntry>& entries);

// One CAPA line: the capability name upper-cased and its arguments.
struct Capability {
  std::string name;
  std::vector<std::string> args;
};
Capability parseCapaLine(std::string_view line);

// True when `capas` has a SASL line listing `mechanism` (upper case).
bool hasSaslMechanism(const std::vector<Capability>& capas, std::string_view mechanism);
// The capability named `name` (upper case), if listed.
const Capability* findCapability(const std::vector<Capability>& capas, std::string_view name);

}  // namespace mailark::pop3

// Reads the untagged responses an archiving client cares about (FETCH,
// LIST, EXISTS, response codes) out of parsed Responses. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/imap/response_parser.h"

namespace mailark::imap {

struct FetchData {
  uint64_t sequence = 0;
  std::optional<uint32_t> uid;
  std::optional<uint64_t> rfc822_size;
  std::optional<std::string> internaldate;
  std::optional<std::string> flags;   // space-separated
  bool body_streamed = false;          // BODY[] went to a literal sink
  std::optional<std::string> body;     // BODY[] delivered inline (quoted or buffered)
  bool body_nil = false;               // BODY[] NIL: the server had no bytes
  std::optional<uint64_t> body_origin; // "BODY[]<n>": the body is a partial fetch from byte n
};

// For the item name "BODY[]<n>" (a partial fetch's answer): n; else nullopt.
std::optional<uint64_t> partialOrigin(std::string_view item_name);

// For "* n FETCH (...)"; nullopt for anything else or a malformed FETCH.
std::optional<FetchData> parseFetch(const Response& response);

struct ListEntry {
  std::string name;       // as sent (modified UTF-7 unless UTF8=ACCEPT is enabled)
  std::string delimiter;  // empty when NIL
  std::vector<std::string> attributes;  // e.g. "\\Noselect", as sent
  bool selectable() const;  // false for \Noselect and \NonExistent
};

// For "* LIST (...) delim name"; nullopt for anything else.
std::optional<ListEntry> parseList(const Response& response);

// "* STATUS name (item n ...)": the items an archiver asks for.
struct StatusData {
  std::string name;  // as sent (modified UTF-7)
  std::optional<uint64_t> messages;
  std::optional<uint32_t> uidnext;
  std::optional<uint32_t> uidvalidity;
  std::optional<uint64_t> size;            // STATUS=SIZE
  std::optional<uint64_t> highest_modseq;  // CONDSTORE
};

// For "* STATUS name (...)"; nullopt for anything else or a malformed one.
// Unknown items are skipped; out-of-range UIDs are left unset.
std::optional<StatusData> parseStatus(const Response& response);

// Whether two mailbox names as sent name the same mailbox: equal bytes, or
// both INBOX, which is case-insensitive (RFC 3501 5.1).
bool sameMailboxName(std::string_view a, std::string_view b);

// For "* n EXISTS"; nullopt otherwise.
std::optional<uint64_t> parseExists(const Response& response);

// The number in a response code "NAME n" (e.g. UIDVALIDITY, UIDNEXT).
std::optional<uint32_t> codeNumber(const std::string& code, std::string_view name);
// The same for 64-bit values (HIGHESTMODSEQ).
std::optional<uint64_t> codeNumber64(const std::string& code, std::string_view name);

}  // namespace mailark::imap

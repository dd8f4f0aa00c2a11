// Microsoft national clouds: where each one issues tokens and serves mail.
//
// Values from docs/exchange-online.md section 1. Pure data; no I/O.
#pragma once

#include <string>
#include <string_view>

#include "mailark/status.h"

namespace mailark::auth {

struct CloudEndpoints {
  std::string authority;  // token host, e.g. https://login.microsoftonline.com
  std::string resource;   // Exchange resource, e.g. https://outlook.office365.com
  std::string mail_host;  // IMAP/POP host
  std::string scope() const { return resource + "/.default"; }
};

// "global" (also GCC), "usgov" (GCC High), "usgov-dod" or "china"
// (21Vianet). Returns Config listing the valid names otherwise.
Result<CloudEndpoints> cloudEndpoints(std::string_view cloud);

// True when `aud` names Exchange Online in any cloud (a token for another
// resource, e.g. Graph, is refused by IMAP/POP). Accepts the resource URLs
// with or without a trailing slash, https://ps.outlook.com and the Exchange
// application id 00000002-0000-0ff1-ce00-000000000000.
bool isExchangeAudience(std::string_view aud);

}  // namespace mailark::auth

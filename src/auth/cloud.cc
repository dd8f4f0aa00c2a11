#include "src/auth/cloud.h"

namespace mailark::auth {

namespace {

struct Cloud {
  const char* name;
  CloudEndpoints endpoints;
};

const Cloud kClouds[] = {
    {"global", {"https://login.microsoftonline.com", "https://outlook.office365.com", "outlook.office365.com"}},
    {"usgov", {"https://login.microsoftonline.us", "https://outlook.office365.us", "outlook.office365.us"}},
    // The DoD host is documented per tenant; this is Microsoft's default.
    {"usgov-dod", {"https://login.microsoftonline.us", "https://outlook-dod.office365.us", "outlook-dod.office365.us"}},
    {"china", {"https://login.partner.microsoftonline.cn", "https://partner.outlook.cn", "partner.outlook.cn"}},
};

const char* const kExchangeAudiences[] = {
    "https://outlook.office365.com", "https://ps.outlook.com",      "https://outlook.office.com",
    "https://outlook.office365.us",  "https://outlook-dod.office365.us", "https://partner.outlook.cn",
    "00000002-0000-0ff1-ce00-000000000000",
};

}  // namespace

Result<CloudEndpoints> cloudEndpoints(std::string_view cloud) {
  for (const Cloud& c : kClouds)
    if (cloud == c.name) return c.endpoints;
  return configError("cloud \"" + std::string(cloud) +
                     "\" is not known: use \"global\", \"usgov\", \"usgov-dod\" or \"china\"");
}

bool isExchangeAudience(std::string_view aud) {
  while (!aud.empty() && aud.back() == '/') aud.remove_suffix(1);
  for (const char* a : kExchangeAudiences)
    if (aud == a) return true;
  return false;
}

}  // namespace mailark::auth

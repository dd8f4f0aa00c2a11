// Logins in the "mailbox@clientID@tenantID" form that HarePoint Workflow
// Extensions and similar tools use: one string names the mailbox, the app
// registration and the tenant. mailark splits it into an app and a mailbox
// (the secret still comes from the usual client_secret_file/env). Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailark::config {

struct CompatLogin {
  std::string mailbox;    // "user@contoso.com"
  std::string client_id;  // the app registration's Application (client) ID
  std::string tenant;     // tenant GUID or domain
};

// Splits "user@domain@<client GUID>@<tenant>" (split from the right). Returns
// nullopt for anything else, including a plain address and a client part
// that is not a GUID (so an odd but ordinary address is never taken apart).
std::optional<CompatLogin> parseCompatLogin(std::string_view login);

// True for "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex digits, any case).
bool isGuid(std::string_view s);

}  // namespace mailark::config

#include "src/config/compat_login.h"

#include <cctype>

namespace mailark::config {

bool isGuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::optional<CompatLogin> parseCompatLogin(std::string_view login) {
  size_t tenant_at = login.rfind('@');
  if (tenant_at == std::string_view::npos || tenant_at == 0) return std::nullopt;
  size_t client_at = login.rfind('@', tenant_at - 1);
  if (client_at == std::string_view::npos || client_at == 0) return std::nullopt;
  std::string_view tenant = login.substr(tenant_at + 1);
  std::string_view client = login.substr(client_at + 1, tenant_at - client_at - 1);
  std::string_view mailbox = login.substr(0, client_at);
  size_t at = mailbox.find('@');
  if (!isGuid(client) || tenant.empty() || at == std::string_view::npos || at == 0 || at + 1 == mailbox.size() ||
      mailbox.find('@', at + 1) != std::string_view::npos)
    return std::nullopt;
  // A tenant is a GUID or a domain: at least one dot, no further '@'.
  if (!isGuid(tenant) && tenant.find('.') == std::string_view::npos) return std::nullopt;
  return CompatLogin{std::string(mailbox), std::string(client), std::string(tenant)};
}

}  // namespace mailark::config

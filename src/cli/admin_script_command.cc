// `mailark admin-script`: prints the PowerShell an Exchange admin runs once
// so that mailark's app may read the configured mailboxes.
#include <cstdio>

#include "src/cli/commands.h"
#include "src/cli/powershell.h"
#include "src/config/config.h"

namespace mailark::cli {

int adminScriptCommand(const std::string& config_path) {
  // The script needs ids and addresses only, never the secret.
  Result<config::Config> cfg = config::loadConfig(config_path, config::SecretNeed::Skip);
  if (!cfg) return reportFatal(cfg.status().message());
  for (const config::AppConfig& app : cfg->apps) {
    if (app.client_id.empty())
      return reportFatal(config_path + ": app " + app.name + " has no client_id; the script registers that app");
    if (app.mailboxes.empty())
      return reportFatal(config_path + ": app " + app.name + " lists no mailboxes; add them under [mailboxes]");
  }
  std::string script = adminScript(*cfg);
  std::fwrite(script.data(), 1, script.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace mailark::cli

#include "src/cli/powershell.h"


namespace mailark::cli {

namespace {

// UTF-8 encodings of the quotes PowerShell reads as a single quote besides
// the ASCII one: U+2018..U+201B are E2 80 98..9B.
bool isUnicodeSingleQuote(std::string_view s, size_t i) {
  return i + 2 < s.size() && static_cast<unsigned char>(s[i]) == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
         static_cast<unsigned char>(s[i + 2]) >= 0x98 && static_cast<unsigned char>(s[i + 2]) <= 0x9B;
}

const char* protocolName(config::Protocol p) { return p == config::Protocol::Pop3 ? "POP" : "IMAP"; }

}  // namespace

std::string singleQuoted(std::string_view value) {
  std::string out = "'";
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\'') {
      out += "''";
    } else if (isUnicodeSingleQuote(value, i)) {
      std::string_view quote = value.substr(i, 3);
      out.append(quote);
      out.append(quote);
      i += 2;
    } else {
      out += value[i];
    }
  }
  out += '\'';
  return out;
}

std::string comment(std::string_view text) {
  std::string out = "# ";
  for (char c : text) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

std::string adminScript(const config::Config& cfg) {
  std::string s;
  auto line = [&s](const std::string& l) { s += l + "\n"; };
  line("# mailark admin script: lets mailark's app read the configured mailboxes");
  line("# over IMAP/POP with app-only OAuth (Exchange Online). Generated from");
  line(comment(cfg.file));
  line("#");
  line("# Run it in PowerShell as an Exchange administrator. It is idempotent:");
  line("# run it again after adding mailboxes; what is in place is left alone.");
  line("# Before running it, in Entra ID > App registrations > <your app> > API");
  line("# permissions, add Office 365 Exchange Online > Application permissions >");
  line("# IMAP.AccessAsApp (and/or POP.AccessAsApp) and click \"Grant admin consent\".");
  line("");
  line("$ErrorActionPreference = 'Stop'");
  line("");
  line("# 1. The Exchange Online PowerShell module (installed once per user).");
  line("if (-not (Get-Module -ListAvailable -Name 'ExchangeOnlineManagement')) {");
  line("  Install-Module -Name 'ExchangeOnlineManagement' -Scope CurrentUser -Force");
  line("}");
  line("Import-Module 'ExchangeOnlineManagement'");
  std::string connected_tenant;
  int step = 2;
  for (const config::AppConfig& app : cfg.apps) {
    line("");
    line("# ---- app " + comment(app.name).substr(2) + " (tenant " + comment(app.tenant).substr(2) + ") ----");
    if (app.tenant != connected_tenant) {
      line("");
      line("# " + std::to_string(step++) + ". Sign in as an Exchange administrator of this tenant.");
      if (!connected_tenant.empty()) line("Disconnect-ExchangeOnline -Confirm:$false");
      line("Connect-ExchangeOnline -ShowBanner:$false");
      connected_tenant = app.tenant;
    }
    line("$appId = " + singleQuoted(app.client_id));
    line("");
    line("# " + std::to_string(step++) + ". The service principal of the Enterprise Application, looked up by");
    line("# AppId. It must carry the object id of the ENTERPRISE APPLICATION (Entra ID >");
    line("# Enterprise applications > <app> > Object ID), not the App Registration's");
    line("# object id: that mix-up makes every login fail with \"AUTHENTICATE failed\".");
    line("$sp = Get-ServicePrincipal -ErrorAction SilentlyContinue | Where-Object { $_.AppId -eq $appId }");
    line("if (-not $sp) {");
    line("  # Microsoft Graph finds the Enterprise Application's object id for us");
    line("  # (or copy it from the portal and pass it to New-ServicePrincipal -ObjectId).");
    line("  if (-not (Get-Module -ListAvailable -Name 'Microsoft.Graph.Applications')) {");
    line("    Install-Module -Name 'Microsoft.Graph.Applications' -Scope CurrentUser -Force");
    line("  }");
    line("  Connect-MgGraph -Scopes 'Application.Read.All' -NoWelcome");
    line("  $enterpriseApp = Get-MgServicePrincipal -Filter " + singleQuoted("appId eq '" + app.client_id + "'"));
    line("  if (-not $enterpriseApp) {");
    line("    throw ('No Enterprise Application has AppId ' + $appId + ': grant admin consent to the app first')");
    line("  }");
    line("  $sp = New-ServicePrincipal -AppId $appId -ObjectId $enterpriseApp.Id -DisplayName " +
         singleQuoted("mailark " + app.name));
    line("  Write-Host ('registered service principal ' + $sp.ObjectId)");
    line("} else {");
    line("  Write-Host ('service principal already registered: ' + $sp.ObjectId)");
    line("}");
    line("");
    line("# " + std::to_string(step++) + ". FullAccess for the app on every configured mailbox (skipped where");
    line("# it is already granted), and the mailbox's protocol must be enabled.");
    line("$mailboxes = @(");
    for (size_t i = 0; i < app.mailboxes.size(); ++i) {
      const config::MailboxSpec& m = app.mailboxes[i];
      line("  @{ Address = " + singleQuoted(m.address) + "; Protocol = '" + protocolName(m.protocol) + "' }" +
           (i + 1 < app.mailboxes.size() ? "," : ""));
    }
    line(")");
    line("foreach ($m in $mailboxes) {");
    line("  $granted = Get-MailboxPermission -Identity $m.Address -User $sp.ObjectId -ErrorAction SilentlyContinue |");
    line("    Where-Object { ($_.AccessRights -contains 'FullAccess') -and -not $_.Deny }");
    line("  if ($granted) {");
    line("    Write-Host ('FullAccess already granted on ' + $m.Address)");
    line("  } else {");
    line("    Add-MailboxPermission -Identity $m.Address -User $sp.ObjectId -AccessRights FullAccess | Out-Null");
    line("    Write-Host ('granted FullAccess on ' + $m.Address)");
    line("  }");
    line("  $cas = Get-CASMailbox -Identity $m.Address");
    line("  if ($m.Protocol -eq 'IMAP' -and -not $cas.ImapEnabled) {");
    line("    Write-Warning ('IMAP is disabled for ' + $m.Address + '; enable it with: Set-CASMailbox -Identity <mailbox> -ImapEnabled $true')");
    line("  }");
    line("  if ($m.Protocol -eq 'POP' -and -not $cas.PopEnabled) {");
    line("    Write-Warning ('POP is disabled for ' + $m.Address + '; enable it with: Set-CASMailbox -Identity <mailbox> -PopEnabled $true')");
    line("  }");
    line("}");
  }
  line("");
  line("# Changes can take up to an hour to reach every Exchange server; then run");
  line("# `mailark doctor` to check each mailbox.");
  return s;
}

}  // namespace mailark::cli

// Issue 8: the admin script carries config values only as PowerShell
// single-quoted literals, so a hostile mailbox or app name cannot inject code.
#include "src/cli/powershell.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

namespace mailark::cli {
namespace {

TEST(SingleQuotedTest, QuotingTable) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"", "''"},
      {"user@contoso.test", "'user@contoso.test'"},
      {"o'brien@x.test", "'o''brien@x.test'"},
      {"''", "''''''"},
      {"$(calc)`n;$env:X\"", "'$(calc)`n;$env:X\"'"},
      {"a\xE2\x80\x98" "b", "'a\xE2\x80\x98\xE2\x80\x98" "b'"},  // U+2018
      {"\xE2\x80\x99", "'\xE2\x80\x99\xE2\x80\x99'"},            // U+2019
      {"\xE2\x80\x9A\xE2\x80\x9B", "'\xE2\x80\x9A\xE2\x80\x9A\xE2\x80\x9B\xE2\x80\x9B'"},
      {"\xE2\x80\x9C", "'\xE2\x80\x9C'"},  // U+201C is a double quote: verbatim
      {"\xE2\x80", "'\xE2\x80'"},          // truncated UTF-8 stays as it is
  };
  for (const Case& c : cases) EXPECT_EQ(singleQuoted(c.in), c.out) << c.in;
}

TEST(SingleQuotedTest, CommentCannotStartANewLine) {
  EXPECT_EQ(comment("a\nRemove-Mailbox x\r\n"), "# a Remove-Mailbox x  ");
}

// A small lexer for the subset of PowerShell the script uses: '#' comments
// to end of line, single-quoted literals (any of the four quote characters
// opens or closes one; a doubled quote is one quote character). Returns the
// decoded literals and appends every byte outside literals and comments to
// `code`.
bool isQuoteAt(const std::string& s, size_t i, size_t* len) {
  if (s[i] == '\'') {
    *len = 1;
    return true;
  }
  if (i + 2 < s.size() && static_cast<unsigned char>(s[i]) == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
      static_cast<unsigned char>(s[i + 2]) >= 0x98 && static_cast<unsigned char>(s[i + 2]) <= 0x9B) {
    *len = 3;
    return true;
  }
  return false;
}

std::vector<std::string> lex(const std::string& s, std::string* code) {
  std::vector<std::string> literals;
  size_t i = 0, q = 0;
  while (i < s.size()) {
    if (s[i] == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
      continue;
    }
    if (!isQuoteAt(s, i, &q)) {
      *code += s[i++];
      continue;
    }
    i += q;
    std::string lit;
    for (;;) {
      EXPECT_LT(i, s.size()) << "unterminated literal";
      if (i >= s.size()) return literals;
      size_t q2 = 0;
      if (isQuoteAt(s, i, &q2)) {
        size_t q3 = 0;
        if (i + q2 < s.size() && isQuoteAt(s, i + q2, &q3)) {  // doubled: one quote character
          lit.append(s, i, q2);
          i += q2 + q3;
          continue;
        }
        i += q2;
        break;
      }
      lit += s[i++];
    }
    literals.push_back(lit);
  }
  return literals;
}

config::Config hostileConfig(const std::vector<std::string>& addresses) {
  config::Config cfg;
  cfg.file = "/etc/mailark.toml";
  config::AppConfig app;
  app.name = "evil'); Remove-Mailbox PWNED_NAME #";
  app.tenant = "contoso.test";
  app.client_id = "11111111-2222-3333-4444-555555555555";
  for (const std::string& a : addresses) app.mailboxes.push_back({a, config::Protocol::Imap});
  app.mailboxes.push_back({"pop'user@contoso.test", config::Protocol::Pop3});
  cfg.apps.push_back(app);
  return cfg;
}

TEST(AdminScriptTest, HostileMailboxesAppearOnlyAsLiterals) {
  std::vector<std::string> hostile = {
      "o'brien$(Remove-Mailbox PWNED_A)@contoso.test",
      "x`$(PWNED_B)`;';Stop-Computer;'@contoso.test",
      "q\xE2\x80\x99);PWNED_C;(\xE2\x80\x98@contoso.test",
      "${PWNED_D}@contoso.test",
  };
  std::string script = adminScript(hostileConfig(hostile));
  std::string code;
  std::vector<std::string> literals = lex(script, &code);
  for (const std::string& h : hostile) {
    EXPECT_NE(std::find(literals.begin(), literals.end(), h), literals.end()) << "missing literal for " << h;
    EXPECT_NE(script.find(singleQuoted(h)), std::string::npos) << h;
  }
  // Outside literals and comments nothing of the hostile values remains.
  EXPECT_EQ(code.find("PWNED"), std::string::npos) << code;
  EXPECT_EQ(code.find("Stop-Computer"), std::string::npos);
  // Values are never put into double-quoted (expanding) strings.
  EXPECT_EQ(code.find('"'), std::string::npos) << code;
  // The hostile app name survives as a literal display name.
  EXPECT_NE(std::find(literals.begin(), literals.end(), "mailark evil'); Remove-Mailbox PWNED_NAME #"), literals.end());
}

TEST(AdminScriptTest, HasTheIdempotentSteps) {
  std::string script = adminScript(hostileConfig({"user01@contoso.test"}));
  for (const char* needle : {"Install-Module -Name 'ExchangeOnlineManagement'", "Connect-ExchangeOnline",
                             "$appId = '11111111-2222-3333-4444-555555555555'", "Get-ServicePrincipal",
                             "Get-MgServicePrincipal -Filter 'appId eq ''11111111-2222-3333-4444-555555555555'''",
                             "if (-not $sp) {", "New-ServicePrincipal -AppId $appId -ObjectId $enterpriseApp.Id",
                             "Get-MailboxPermission -Identity $m.Address", "if ($granted) {",
                             "Add-MailboxPermission -Identity $m.Address -User $sp.ObjectId -AccessRights FullAccess",
                             "Get-CASMailbox", "-not $cas.ImapEnabled", "-not $cas.PopEnabled",
                             "@{ Address = 'user01@contoso.test'; Protocol = 'IMAP' }",
                             "@{ Address = 'pop''user@contoso.test'; Protocol = 'POP' }"}) {
    EXPECT_NE(script.find(needle), std::string::npos) << needle;
  }
  // New-ServicePrincipal only inside the "missing" branch, after the lookup.
  EXPECT_LT(script.find("Get-ServicePrincipal"), script.find("New-ServicePrincipal"));
}

TEST(AdminScriptTest, SecondTenantReconnects) {
  config::Config cfg = hostileConfig({"a@contoso.test"});
  config::AppConfig other = cfg.apps[0];
  other.name = "fabrikam";
  other.tenant = "fabrikam.test";
  other.mailboxes = {{"b@fabrikam.test", config::Protocol::Imap}};
  cfg.apps.push_back(other);
  std::string script = adminScript(cfg);
  EXPECT_NE(script.find("Disconnect-ExchangeOnline"), std::string::npos);
  EXPECT_NE(script.find("'b@fabrikam.test'"), std::string::npos);
}

// The whole path: a hostile address that passes the config's own checks
// (no spaces, no double quotes) reaches the script only as a literal.
TEST(AdminScriptTest, HostileAddressFromAConfigFile) {
  char dir[] = "/tmp/mailark-ps-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/mailark.toml";
  const std::string hostile = "o'brien$(Stop-Computer)`PWNED;'x'@contoso.test";
  std::ofstream(path) << "[app]\ntenant = \"contoso.test\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\n"
                      << "client_secret_file = \"" << dir << "/secret\"\n"
                      << "[archive]\npath = \"" << dir << "/archive\"\n"
                      << "[mailboxes]\nlist = ['" << "user01@contoso.test" << "', \"" << hostile << "\"]\n";
  Result<config::Config> cfg = config::loadConfig(path, config::SecretNeed::Skip);
  ASSERT_TRUE(cfg.isOk()) << cfg.status().message();
  std::string script = adminScript(*cfg);
  std::string code;
  std::vector<std::string> literals = lex(script, &code);
  EXPECT_NE(std::find(literals.begin(), literals.end(), hostile), literals.end()) << script;
  EXPECT_EQ(code.find("PWNED"), std::string::npos);
  EXPECT_EQ(code.find("Stop-Computer"), std::string::npos);
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace mailark::cli

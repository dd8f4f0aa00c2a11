// mailark: archive Microsoft 365 / IMAP mailboxes with app-only OAuth.
#include <CLI/CLI.hpp>

#include <csignal>

#include "src/base/log.h"
#include "src/cli/commands.h"

int main(int argc, char** argv) {
  // A closed peer must surface as a write error, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"mailark: archive Microsoft 365 (Exchange Online) and IMAP mailboxes with app-only OAuth"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log protocol steps (never secrets)");

  std::string config;
  auto add_config = [&](CLI::App* sub) {
    sub->add_option("-c,--config", config, "mailark.toml")->required()->check(CLI::ExistingFile);
  };

  CLI::App* run = app.add_subcommand("run", "Archive every configured mailbox (incremental)");
  add_config(run);
  CLI::App* status = app.add_subcommand("status", "Per mailbox: folders, messages, bytes, last run");
  add_config(status);
  mailark::cli::LsOptions ls_options;
  CLI::App* ls = app.add_subcommand("ls", "List archived messages");
  add_config(ls);
  ls->add_option("--mailbox", ls_options.mailbox, "Only this mailbox");
  ls->add_flag("--json", ls_options.json, "One JSON object per line");
  std::string sha;
  CLI::App* cat = app.add_subcommand("cat", "Write an archived message's original bytes to stdout");
  add_config(cat);
  cat->add_option("sha256", sha, "The message's SHA-256 (from `mailark ls`)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (verbose) mailark::log::setLevel(mailark::log::Level::Debug);

  if (run->parsed()) return mailark::cli::runCommand({config});
  if (status->parsed()) return mailark::cli::statusCommand(config);
  if (ls->parsed()) {
    ls_options.config = config;
    return mailark::cli::lsCommand(ls_options);
  }
  if (cat->parsed()) return mailark::cli::catCommand(config, sha);
  return 2;
}

// mailark: archive Microsoft 365 / IMAP mailboxes with app-only OAuth.
#include <CLI/CLI.hpp>

#include <csignal>

#include "src/base/log.h"
#include "src/cli/commands.h"
#include "src/cli/output.h"

int main(int argc, char** argv) {
  // A closed peer must surface as a write error, not kill the process;
  // a closed stdout reader ends the command quietly (src/cli/output.h).
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"mailark: archive Microsoft 365 (Exchange Online) and IMAP mailboxes with app-only OAuth"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log protocol steps (never secrets)");

  std::string config;
  auto add_config = [&](CLI::App* sub) {
    sub->add_option("-c,--config", config, "mailark.toml")->required()->check(CLI::ExistingFile);
  };

  mailark::cli::RunOptions run_options;
  CLI::App* run = app.add_subcommand("run", "Archive every configured mailbox (incremental)");
  add_config(run);
  run->add_option("--json-events", run_options.json_events, "Append one JSON event per line to this file");
  run->add_option("--metrics-file", run_options.metrics_file,
                  "Write Prometheus text-format metrics here (node_exporter textfile collector)");
  bool quiet = false;
  run->add_flag("-q,--quiet", quiet, "No progress display");
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
  mailark::cli::VerifyOptions verify_options;
  CLI::App* verify = app.add_subcommand("verify", "Re-read and check every archived object; name damaged messages");
  add_config(verify);
  verify->add_option("--mailbox", verify_options.mailbox, "Only this mailbox's objects");
  verify->add_option("--sample", verify_options.sample, "Check only this share of objects, e.g. 10%");
  mailark::cli::ExportOptions export_options;
  CLI::App* exp = app.add_subcommand("export", "Write a mailbox's messages out as eml, mbox or Maildir");
  add_config(exp);
  exp->add_option("--mailbox", export_options.mailbox, "The mailbox")->required();
  exp->add_option("--folder", export_options.folder, "Only this folder");
  exp->add_option("--format", export_options.format, "eml, mbox or maildir")->required();
  exp->add_option("--out", export_options.out, "Output directory")->required();
  mailark::cli::TokenOptions token_options;
  CLI::App* token = app.add_subcommand("token", "Get each app's token and show its tenant, expiry, audience and roles");
  add_config(token);
  token->add_option("--app", token_options.app, "Only this app ([[app]] name)");
  token->add_flag("--print", token_options.print, "Print only the raw access token (for piping into other tools)");

  CLI::App* admin_script =
      app.add_subcommand("admin-script", "Print the Exchange admin's PowerShell (service principal, FullAccess, IMAP/POP)");
  add_config(admin_script);
  mailark::cli::PlanOptions plan_options;
  CLI::App* plan = app.add_subcommand("plan", "Show folders and what the next run would fetch, with an ETA (fetches nothing)");
  add_config(plan);
  plan->add_option("--rate", plan_options.rate, "Messages per second per mailbox for the ETA (default 4)")
      ->check(CLI::PositiveNumber);
  plan->add_flag("--json", plan_options.json, "One JSON object per folder, then a totals object");
  mailark::cli::DoctorOptions doctor_options;
  CLI::App* doctor = app.add_subcommand("doctor", "Check each app and mailbox step by step and say what to fix");
  add_config(doctor);
  doctor->add_option("--mailbox", doctor_options.mailboxes, "Only these mailboxes (repeatable)");
  doctor->add_flag("--json", doctor_options.json, "JSON for scripts instead of a table");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return mailark::cli::finishStdout(app.exit(e) == 0 ? 0 : 2);
  }
  if (verbose) mailark::log::setLevel(mailark::log::Level::Debug);
  // Each command returns its exit code; finishStdout() then decides what a
  // failed stdout means.
  auto dispatch = [&]() -> int {
    if (run->parsed()) {
      run_options.config = config;
      run_options.progress = !quiet;
      return mailark::cli::runCommand(run_options);
    }
    if (status->parsed()) return mailark::cli::statusCommand(config);
    if (ls->parsed()) {
      ls_options.config = config;
      return mailark::cli::lsCommand(ls_options);
    }
    if (cat->parsed()) return mailark::cli::catCommand(config, sha);
    if (verify->parsed()) {
      verify_options.config = config;
      return mailark::cli::verifyCommand(verify_options);
    }
    if (token->parsed()) {
      token_options.config = config;
      return mailark::cli::tokenCommand(token_options);
    }
    if (exp->parsed()) {
      export_options.config = config;
      return mailark::cli::exportCommand(export_options);
    }
    if (admin_script->parsed()) return mailark::cli::adminScriptCommand(config);
    if (plan->parsed()) {
      plan_options.config = config;
      return mailark::cli::planCommand(plan_options);
    }
    if (doctor->parsed()) {
      doctor_options.config = config;
      return mailark::cli::doctorCommand(doctor_options);
    }
    return 2;
  };
  return mailark::cli::finishStdout(dispatch());
}

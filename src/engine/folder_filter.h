// Which folders an archive of mail skips by default. Exchange Online lists
// its non-mail folders over IMAP too (calendar, contacts, tasks, ...); their
// "messages" are server-made stubs, not mail.
#pragma once

#include <string_view>

namespace mailark::engine {

// True for Calendar, Contacts, Tasks, Notes, Journal, RSS Feeds, Files and
// everything below them (compared case-insensitively on the top-level name,
// decoded UTF-8, with the server's hierarchy delimiter). Localized names of
// these folders are not recognized.
bool isNonMailFolder(std::string_view name, std::string_view delimiter);

}  // namespace mailark::engine

#include "src/engine/folder_filter.h"

#include <strings.h>

namespace mailark::engine {

bool isNonMailFolder(std::string_view name, std::string_view delimiter) {
  static constexpr std::string_view kNonMail[] = {"Calendar", "Contacts", "Tasks",     "Notes",
                                                  "Journal",  "RSS Feeds", "Files"};
  std::string_view top = name;
  if (!delimiter.empty()) {
    size_t cut = name.find(delimiter);
    if (cut != std::string_view::npos) top = name.substr(0, cut);
  }
  for (std::string_view n : kNonMail)
    if (top.size() == n.size() && strncasecmp(top.data(), n.data(), n.size()) == 0) return true;
  return false;
}

}  // namespace mailark::engine

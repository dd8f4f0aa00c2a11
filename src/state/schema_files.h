// The schema/*.sql files, embedded at build time (scripts/embed_schema.cmake).
#pragma once

#include <string_view>
#include <vector>

namespace mailark::state {

struct SchemaFile {
  int version;            // the file name's numeric prefix
  std::string_view name;  // e.g. "0001_init.sql"
  std::string_view sql;
};

// In ascending version order.
const std::vector<SchemaFile>& schemaFiles();

}  // namespace mailark::state

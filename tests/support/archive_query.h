// Read-only peeks into an archive's state.db for integration tests.
#pragma once

#include <cstddef>
#include <string>

namespace mailark::test {

// Rows in the pack index (`objects`); 0 when there is no database yet.
// Safe while a `mailark run` writes the archive (WAL readers never block).
size_t countIndexedObjects(const std::string& archive);

// Runs one statement that returns no rows (e.g. to damage an archive on
// purpose); returns false on any error.
bool execSql(const std::string& archive, const std::string& sql);

}  // namespace mailark::test

// Where things live inside an archive directory, and how it is opened.
#pragma once

#include <string>

#include "mailark/content_store.h"
#include "mailark/state_store.h"

namespace mailark::cli {

struct Archive {
  ContentStorePtr store;
  StateStorePtr state;
  int lock_fd = -1;  // held for writers (run); -1 for readers
  ~Archive();
};

enum class ArchiveMode { CreateAndLock, ReadExisting };

// Opens <path>/state.db and the object store under <path>. CreateAndLock
// makes the directory if needed and takes an exclusive lock so two runs
// cannot write one archive; ReadExisting fails with NotFound when there is
// no archive yet.
Result<std::unique_ptr<Archive>> openArchive(const std::string& path, ArchiveMode mode);

}  // namespace mailark::cli

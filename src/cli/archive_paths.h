// Where things live inside an archive directory, and how it is opened.
//
//   <path>/state.db   SQLite state: runs, mailboxes, folders, messages and
//                     the pack index (objects)
//   <path>/packs/     append-only pack files (src/store/pack_format.h)
//   <path>/objects/   file-per-object store of archives made before packs
//                     (read only; absent in new archives)
//   <path>/lock       flock()ed by writers
#pragma once

#include <string>

#include "mailark/content_store.h"
#include "mailark/state_store.h"
#include "src/config/config.h"

namespace mailark::cli {

struct Archive {
  // Declared before `store`: the store borrows the state as its index, so
  // the state must be destroyed last.
  StateStorePtr state;
  ContentStorePtr store;
  int lock_fd = -1;  // held for writers (run); -1 for readers
  ~Archive();
};

enum class ArchiveMode { CreateAndLock, ReadExisting };

// Opens <path>/state.db and the pack store under <path>. CreateAndLock
// makes the directory if needed, takes an exclusive lock so two runs
// cannot write one archive, and recovers a crashed run's pack tails;
// ReadExisting opens read-only (safe beside a running `mailark run`) and
// fails with NotFound when there is no archive yet.
Result<std::unique_ptr<Archive>> openArchive(const std::string& path, ArchiveMode mode,
                                             const PackStoreOptions& options = {});

// Store options from the [archive] section. Without compression and with
// store_threads unset, messages are stored on the loop thread (no workers).
PackStoreOptions packStoreOptions(const config::ArchiveConfig& archive);

}  // namespace mailark::cli

namespace mailark::cli {

// Loads the config at `config_path` (no secrets) and opens its archive
// read-only.
Result<std::unique_ptr<Archive>> openForReading(const std::string& config_path);

}  // namespace mailark::cli

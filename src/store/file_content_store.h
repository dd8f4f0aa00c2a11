// FileContentStore: ContentStore with one file per object (see
// object_layout.h for the directory layout and file_object_writer.h for how
// an object becomes durable).
//
// Assumes a single mailark process writes the archive at a time: opening
// removes everything in tmp/, including another live writer's files.
#pragma once

#include <string>

#include "mailark/content_store.h"

namespace mailark::store {

class FileContentStore final : public ContentStore {
 public:
  // Creates root, objects/ and tmp/ if needed and empties tmp/.
  static Result<ContentStorePtr> open(const std::string& root);

  Result<ObjectWriterPtr> newObject() override;
  Result<bool> contains(const ObjectId& id) override;
  Status read(const ObjectId& id,
              const std::function<Status(std::span<const char>)>& sink) override;
  // Each commit is already durable: nothing to sync, nothing to index.
  Result<PendingSyncPtr> beginSync() override;
  Result<std::vector<StoredObject>> finishSync(PendingSyncPtr, const Status& ran) override;
  void indexed(const std::vector<StoredObject>&) override {}

  const std::string& root() const { return root_; }

 private:
  explicit FileContentStore(std::string root) : root_(std::move(root)) {}

  std::string root_;
};

}  // namespace mailark::store

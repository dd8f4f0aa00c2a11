// ContentStore: the content-addressed message store.
//
// An object's identity is the SHA-256 of its exact bytes. Writing the same
// bytes twice stores them once. Objects are written by streaming through an
// ObjectWriter, so a message is never held whole in memory.
//
// Threading: a store and its writers belong to one thread (one loop).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "mailark/status.h"

namespace mailark {

// Lower-case hex SHA-256, 64 characters.
using ObjectId = std::string;

class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;

  // Appends bytes. Errors (e.g. StorageFull) are sticky: later calls and
  // commit() return the same error.
  virtual Status append(std::span<const char> bytes) = 0;

  // Bytes appended so far.
  virtual uint64_t size() const = 0;

  // Finishes the object. When this returns ok the bytes are durable
  // (written and fsynced, directory entry synced) and readable by id.
  // If an object with the same id already exists, the new copy is dropped.
  // REQUIRES: called at most once; no append() afterwards.
  virtual Result<ObjectId> commit() = 0;

  // Drops everything appended; safe to call at any time, also after a
  // failed append. The destructor aborts an uncommitted writer.
  virtual void abort() = 0;
};
using ObjectWriterPtr = std::unique_ptr<ObjectWriter>;

class ContentStore {
 public:
  virtual ~ContentStore() = default;

  virtual Result<ObjectWriterPtr> newObject() = 0;

  // True when a durable object with this id exists.
  virtual Result<bool> contains(const ObjectId& id) = 0;

  // Streams the object's exact original bytes to `sink` in chunks; stops at
  // the first non-ok Status from the sink and returns it. NotFound when absent.
  virtual Status read(const ObjectId& id,
                      const std::function<Status(std::span<const char>)>& sink) = 0;
};
using ContentStorePtr = std::unique_ptr<ContentStore>;

// Opens (creating if needed) a store with one file per object under `dir`.
// Leftover temporary files from a crashed run are removed.
Result<ContentStorePtr> openFileContentStore(const std::string& dir);

}  // namespace mailark

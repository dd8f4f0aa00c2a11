// Where the file-per-object store keeps things under its root directory:
//
//   <root>/objects/ab/<64 hex>   one immutable file per object, named by the
//                                SHA-256 of its bytes; "ab" = first two hex
//                                digits, so no directory grows past ~1/256
//                                of the archive
//   <root>/tmp/                  objects being written; anything found here
//                                at open time is debris from a crash
//
// Only this file knows the naming, so a later pack-file store can change the
// layout without touching the writer's hashing and buffering.
#pragma once

#include <string>
#include <string_view>

namespace mailark::store {

// True for exactly 64 lower-case hex digits (the form digestHex() produces).
// Ids from outside are checked with this before they become paths.
bool isObjectId(std::string_view id);

std::string objectsDir(const std::string& root);
std::string tmpDir(const std::string& root);
// REQUIRES: isObjectId(id)
std::string fanoutDir(const std::string& root, std::string_view id);
// REQUIRES: isObjectId(id)
std::string objectPath(const std::string& root, std::string_view id);

}  // namespace mailark::store

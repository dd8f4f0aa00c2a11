#include "src/store/object_layout.h"

#include <cassert>

namespace mailark::store {

bool isObjectId(std::string_view id) {
  if (id.size() != 64) return false;
  for (char c : id) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex) return false;
  }
  return true;
}

std::string objectsDir(const std::string& root) { return root + "/objects"; }

std::string tmpDir(const std::string& root) { return root + "/tmp"; }

std::string fanoutDir(const std::string& root, std::string_view id) {
  assert(isObjectId(id));
  std::string dir = objectsDir(root);
  dir += '/';
  dir += id.substr(0, 2);
  return dir;
}

std::string objectPath(const std::string& root, std::string_view id) {
  std::string path = fanoutDir(root, id);
  path += '/';
  path += id;
  return path;
}

}  // namespace mailark::store

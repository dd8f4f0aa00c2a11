// The state database's role for store tests: an ObjectIndex in memory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>

#include "mailark/content_store.h"

namespace mailark::testing {

class MapIndex : public ObjectIndex {
 public:
  Result<std::optional<ObjectLocation>> findObject(const ObjectId& id) override {
    auto it = rows.find(id);
    if (it == rows.end()) return std::optional<ObjectLocation>();
    return std::optional<ObjectLocation>(it->second);
  }
  Result<std::map<uint32_t, uint64_t>> packEnds() override {
    std::map<uint32_t, uint64_t> ends;
    for (const auto& [id, w] : rows) ends[w.pack] = std::max(ends[w.pack], w.offset + w.length);
    return ends;
  }
  std::map<ObjectId, ObjectLocation> rows;
};

}  // namespace mailark::testing

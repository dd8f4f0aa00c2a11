#include "src/auth/json_fields.h"

namespace mailark::auth {

namespace od = simdjson::ondemand;

Status forEachField(std::string_view json, std::string_view what, const JsonFieldVisitor& visit) {
  simdjson::padded_string padded(json);
  od::parser parser;
  od::document doc;
  od::object obj;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(obj))
    return protocolError(std::string(what) + " is not a JSON object");
  for (auto field_result : obj) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key))
      return protocolError(std::string(what) + " is not valid JSON");
    MAILARK_RETURN_IF_ERROR(visit(key, field.value()));
  }
  return Status::ok();
}

Status readJsonString(od::value& value, std::string_view label, std::string& out) {
  std::string_view s;
  if (value.get_string().get(s)) return protocolError(std::string(label) + " is not a string");
  out.assign(s);
  return Status::ok();
}

}  // namespace mailark::auth

// One way to walk a JSON object's members with simdjson On Demand, for the
// token endpoint's answers and JWT payloads. Never throws (simdjson's
// error-code API only); nothing read here is logged.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "mailark/status.h"

namespace mailark::auth {

using JsonFieldVisitor = std::function<Status(std::string_view key, simdjson::ondemand::value& value)>;

// Parses `json` as one object and calls `visit` for each member in order;
// `value` is valid only during the call. Returns the first non-ok Status
// from `visit`, or ProtocolError "<what> is not a JSON object" / "<what> is
// not valid JSON". `what` names the document, e.g. "token response".
Status forEachField(std::string_view json, std::string_view what, const JsonFieldVisitor& visit);

// Reads a string value into `out`; ProtocolError "<label> is not a string".
Status readJsonString(simdjson::ondemand::value& value, std::string_view label, std::string& out);

}  // namespace mailark::auth

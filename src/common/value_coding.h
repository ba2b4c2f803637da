#pragma once

#include <string>

#include "common/coding.h"
#include "tailor/types.h"

namespace tailor {

// A typed value as: type byte (0xff = missing), then the value (see docs/storage_format.md).
void EncodeTypedValue(std::string& out, const TypedValue& value);
bool DecodeTypedValue(coding::Reader& reader, TypedValue& value);

// The value as text: strings as is, numbers shortest round-trip, lists joined by ';', timestamps
// in ISO 8601. Missing is "".
std::string ValueToText(const TypedValue& value);

bool IsMissing(const TypedValue& value);

}  // namespace tailor

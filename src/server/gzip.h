#pragma once

#include <string>
#include <string_view>

#include "tailor/status.h"

namespace tailor::server {

// Inflates a gzip body; kResourceExhausted when it would expand beyond `max_bytes`.
Result<std::string> Gunzip(std::string_view compressed, size_t max_bytes);

}  // namespace tailor::server

#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tailor/ingest.h"

namespace tailor::ingest {

Result<std::unique_ptr<RowReader>> OpenNdjsonReader(const std::string& path,
                                                    const std::vector<std::string>& wanted);

}  // namespace tailor::ingest

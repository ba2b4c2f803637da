#include "ingest/csv_reader.h"
#include "ingest/row_readers.h"

namespace tailor::ingest {

FileFormat FormatFromPath(std::string_view path) {
  return path.ends_with(".ndjson") || path.ends_with(".jsonl") || path.ends_with(".json")
             ? FileFormat::kNdjson
             : FileFormat::kCsv;
}

Result<std::unique_ptr<RowReader>> OpenRowReader(const std::string& path, FileFormat format,
                                                 char delimiter,
                                                 const std::vector<std::string>& wanted_columns) {
  if (format == FileFormat::kNdjson) return OpenNdjsonReader(path, wanted_columns);
  TAILOR_ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> reader, CsvReader::Open(path, delimiter));
  return std::unique_ptr<RowReader>(std::move(reader));
}

}  // namespace tailor::ingest

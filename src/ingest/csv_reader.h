#pragma once

#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "tailor/ingest.h"

namespace tailor::ingest {

// RFC 4180 CSV: a header row, quoted fields with "" escapes and embedded newlines, CRLF or LF.
// Reads the file in large chunks; a row's views point into the chunk (or, for quoted fields, into
// per-column scratch strings) and stay valid until the next Next().
class CsvReader final : public RowReader {
 public:
  static Result<std::unique_ptr<CsvReader>> Open(const std::string& path, char delimiter);
  ~CsvReader() override;

  const std::vector<std::string>& columns() const override { return columns_; }
  bool Next(Row& row, std::string& error) override;
  uint64_t bytes_read() const override { return consumed_bytes_; }
  uint64_t total_bytes() const override { return total_bytes_; }

 private:
  CsvReader(std::FILE* file, char delimiter, uint64_t total_bytes);
  // Makes sure the buffer holds a whole row from pos_ (or the rest of the file).
  bool Refill();
  // Splits the row starting at pos_ into fields; sets `row_end` past its line break.
  // Returns false when the buffer ends inside the row (a refill is needed).
  bool SplitRow(std::vector<std::string_view>& fields, size_t& row_end, uint64_t& newlines,
                std::string& error);

  std::FILE* file_;
  char delimiter_;
  uint64_t total_bytes_;
  uint64_t consumed_bytes_ = 0;
  uint64_t line_ = 0;  // lines fully consumed
  bool eof_ = false;
  std::string buffer_;
  size_t pos_ = 0;
  size_t size_ = 0;
  std::vector<std::string> columns_;
  std::deque<std::string>
      scratch_;  // unescaped quoted fields; a deque keeps views valid as it grows
};

}  // namespace tailor::ingest

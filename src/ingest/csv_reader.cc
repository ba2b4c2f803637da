#include "ingest/csv_reader.h"

#include <sys/stat.h>

#include <cstring>

namespace tailor::ingest {
namespace {

constexpr size_t kChunkBytes = 8 << 20;
// A single row larger than this is not customer data; reject the file rather than grow forever.
constexpr size_t kMaxRowBytes = 64 << 20;

}  // namespace

Result<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path, char delimiter) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return IoError("cannot open '{}': {}", path, std::strerror(errno));
  struct stat info {};
  const uint64_t total = ::fstat(fileno(file), &info) == 0 ? info.st_size : 0;
  std::unique_ptr<CsvReader> reader(new CsvReader(file, delimiter, total));
  Row header;
  std::string error;
  if (!reader->Next(header, error)) {
    return InvalidArgument("'{}' is empty: a CSV file needs a header row", path);
  }
  if (!error.empty()) return InvalidArgument("'{}' header: {}", path, error);
  for (std::string_view name : header.values) {
    std::string column(name);
    // A UTF-8 byte order mark is not part of the first column's name.
    if (reader->columns_.empty() && column.starts_with("\xEF\xBB\xBF")) column.erase(0, 3);
    reader->columns_.push_back(std::move(column));
  }
  return reader;
}

CsvReader::CsvReader(std::FILE* file, char delimiter, uint64_t total_bytes)
    : file_(file), delimiter_(delimiter), total_bytes_(total_bytes) {
  buffer_.resize(kChunkBytes);
}

CsvReader::~CsvReader() { std::fclose(file_); }

bool CsvReader::Refill() {
  if (eof_) return false;
  // Keep the unread tail, then read after it.
  const size_t tail = size_ - pos_;
  if (pos_ > 0) std::memmove(buffer_.data(), buffer_.data() + pos_, tail);
  pos_ = 0;
  size_ = tail;
  if (size_ == buffer_.size()) {
    if (buffer_.size() >= kMaxRowBytes) return false;
    buffer_.resize(buffer_.size() * 2);
  }
  const size_t got = std::fread(buffer_.data() + size_, 1, buffer_.size() - size_, file_);
  size_ += got;
  if (got == 0) eof_ = true;
  return got > 0;
}

bool CsvReader::SplitRow(std::vector<std::string_view>& fields, size_t& row_end, uint64_t& newlines,
                         std::string& error) {
  fields.clear();
  newlines = 0;
  const char* data = buffer_.data();
  size_t pos = pos_;
  const size_t end = size_;
  const void* newline = std::memchr(data + pos, '\n', end - pos);
  const size_t line_end = newline ? static_cast<const char*>(newline) - data : end;
  if (newline == nullptr && !eof_) return false;
  // Fast path: no quote on the line, so fields are the pieces between delimiters.
  if (std::memchr(data + pos, '"', line_end - pos) == nullptr) {
    size_t content_end = line_end;
    if (content_end > pos && data[content_end - 1] == '\r') --content_end;
    while (true) {
      const void* next = std::memchr(data + pos, delimiter_, content_end - pos);
      const size_t field_end = next ? static_cast<const char*>(next) - data : content_end;
      fields.emplace_back(data + pos, field_end - pos);
      if (next == nullptr) break;
      pos = field_end + 1;
    }
    row_end = newline ? line_end + 1 : end;
    newlines = newline ? 1 : 0;
    return true;
  }
  // Slow path: quoted fields, possibly spanning lines.
  size_t field_index = 0;
  while (true) {
    if (pos < end && data[pos] == '"') {
      if (scratch_.size() <= field_index) scratch_.resize(field_index + 1);
      std::string& text = scratch_[field_index];
      text.clear();
      ++pos;
      while (true) {
        if (pos >= end) {
          if (!eof_) return false;
          error = "unterminated quoted field";
          row_end = end;
          return true;
        }
        const char c = data[pos];
        if (c == '"') {
          if (pos + 1 < end && data[pos + 1] == '"') {
            text.push_back('"');
            pos += 2;
            continue;
          }
          if (pos + 1 >= end && !eof_) return false;
          ++pos;
          break;
        }
        if (c == '\n') ++newlines;
        text.push_back(c);
        ++pos;
      }
      fields.emplace_back(text);
      if (pos < end && data[pos] != delimiter_ && data[pos] != '\n' && data[pos] != '\r') {
        error = "unexpected character after a closing quote";
        const void* skip = std::memchr(data + pos, '\n', end - pos);
        row_end = skip ? static_cast<const char*>(skip) - data + 1 : end;
        if (skip) ++newlines;
        return true;
      }
    } else {
      size_t field_end = pos;
      while (field_end < end && data[field_end] != delimiter_ && data[field_end] != '\n') {
        if (data[field_end] == '"') {
          error = "a quote inside an unquoted field";
        }
        ++field_end;
      }
      if (field_end >= end && !eof_) return false;
      size_t content_end = field_end;
      if ((field_end >= end || data[field_end] == '\n') && content_end > pos &&
          data[content_end - 1] == '\r') {
        --content_end;
      }
      fields.emplace_back(data + pos, content_end - pos);
      pos = field_end;
    }
    ++field_index;
    if (pos >= end) {
      row_end = end;
      return true;
    }
    if (data[pos] == delimiter_) {
      ++pos;
      continue;
    }
    if (data[pos] == '\r') ++pos;
    if (pos < end && data[pos] == '\n') {
      ++newlines;
      row_end = pos + 1;
      return true;
    }
    if (pos >= end) {
      row_end = end;
      return true;
    }
  }
}

bool CsvReader::Next(Row& row, std::string& error) {
  error.clear();
  while (true) {
    if (pos_ >= size_ && !Refill()) return false;
    size_t row_end = 0;
    uint64_t newlines = 0;
    if (!SplitRow(row.values, row_end, newlines, error)) {
      if (!Refill()) {
        if (size_ - pos_ >= kMaxRowBytes) {
          error = "row longer than 64 MiB";
          row.line = line_ + 1;
          pos_ = size_;
          return true;
        }
        eof_ = true;  // Let SplitRow see the last row without a line break.
      }
      continue;
    }
    row.line = line_ + 1;
    line_ += newlines;
    consumed_bytes_ += row_end - pos_;
    const bool blank = row.values.size() == 1 && row.values[0].empty() && error.empty();
    pos_ = row_end;
    if (blank) continue;  // Blank lines carry nothing; skip them as every CSV tool does.
    row.present.assign(row.values.size(), true);
    if (error.empty() && !columns_.empty() && row.values.size() != columns_.size()) {
      error = fmt::format("expected {} fields, found {}", columns_.size(), row.values.size());
    }
    return true;
  }
}

}  // namespace tailor::ingest

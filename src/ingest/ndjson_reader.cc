// NDJSON: one JSON object per line. Columns are dotted paths into the object ("context.ip");
// scalars become their text, arrays of scalars become their elements joined by ';'.

#include <simdjson.h>
#include <sys/stat.h>

#include <cstring>
#include <deque>

#include "ingest/row_readers.h"

namespace tailor::ingest {
namespace {

constexpr size_t kChunkBytes = 8 << 20;
constexpr size_t kMaxLineBytes = 16 << 20;
// Top-level keys are discovered from the first lines when no mapping names them.
constexpr int kDiscoveryLines = 1000;

class NdjsonReader final : public RowReader {
 public:
  NdjsonReader(std::FILE* file, uint64_t total_bytes) : file_(file), total_bytes_(total_bytes) {}
  ~NdjsonReader() override { std::fclose(file_); }

  Status Init(const std::vector<std::string>& wanted) {
    columns_ = wanted;
    // Discover top-level keys of the first lines, then rewind.
    std::string_view line;
    for (int i = 0; i < kDiscoveryLines && ReadLine(line); ++i) {
      simdjson::dom::element root;
      if (parser_.parse(line.data(), line.size(), true).get(root)) continue;
      simdjson::dom::object object;
      if (root.get_object().get(object)) continue;
      for (auto field : object) {
        std::string key(field.key);
        bool known = false;
        for (const std::string& column : columns_) known = known || column == key;
        if (!known) columns_.push_back(std::move(key));
      }
    }
    std::rewind(file_);
    buffer_.clear();
    pos_ = 0;
    eof_ = false;
    line_ = 0;
    consumed_ = 0;
    paths_.clear();
    for (const std::string& column : columns_) {
      std::vector<std::string> parts;
      size_t start = 0;
      while (true) {
        const size_t dot = column.find('.', start);
        parts.push_back(column.substr(start, dot == std::string::npos ? dot : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
      }
      paths_.push_back(std::move(parts));
    }
    return Status::Ok();
  }

  const std::vector<std::string>& columns() const override { return columns_; }
  uint64_t bytes_read() const override { return consumed_; }
  uint64_t total_bytes() const override { return total_bytes_; }

  bool Next(Row& row, std::string& error) override {
    error.clear();
    std::string_view line;
    while (true) {
      if (!ReadLine(line)) return false;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
      if (!line.empty()) break;
    }
    row.line = line_;
    row.values.assign(columns_.size(), std::string_view());
    row.present.assign(columns_.size(), false);
    scratch_.clear();
    if (line.size() > kMaxLineBytes) {
      error = fmt::format("line of {} bytes: a record is limited to {} bytes", line.size(),
                          kMaxLineBytes);
      return true;
    }
    simdjson::dom::element root;
    if (auto code = parser_.parse(line.data(), line.size(), true).get(root)) {
      error = fmt::format("malformed JSON: {}", simdjson::error_message(code));
      return true;
    }
    if (!root.is_object()) {
      error = "a line must hold a JSON object";
      return true;
    }
    for (size_t column = 0; column < paths_.size(); ++column) {
      simdjson::dom::element value = root;
      bool found = true;
      for (const std::string& key : paths_[column]) {
        simdjson::dom::object object;
        if (value.get_object().get(object) || object[key].get(value)) {
          found = false;
          break;
        }
      }
      if (!found || value.is_null()) continue;
      if (!ToText(value, row.values[column], error)) {
        error = fmt::format("field '{}': {}", columns_[column], error);
        return true;
      }
      row.present[column] = true;
    }
    return true;
  }

 private:
  bool ToText(simdjson::dom::element value, std::string_view& text, std::string& error) {
    using simdjson::dom::element_type;
    switch (value.type()) {
      case element_type::STRING:
        text = value.get_string().value_unsafe();
        return true;
      case element_type::BOOL:
        text = value.get_bool().value_unsafe() ? "true" : "false";
        return true;
      case element_type::INT64:
        text = scratch_.emplace_back(std::to_string(value.get_int64().value_unsafe()));
        return true;
      case element_type::UINT64:
        text = scratch_.emplace_back(std::to_string(value.get_uint64().value_unsafe()));
        return true;
      case element_type::DOUBLE:
        text = scratch_.emplace_back(fmt::format("{}", value.get_double().value_unsafe()));
        return true;
      case element_type::ARRAY: {
        std::string& joined = scratch_.emplace_back();
        simdjson::dom::array array;
        if (value.get_array().get(array)) return false;
        for (simdjson::dom::element element : array) {
          std::string_view piece;
          if (element.is_array() || element.is_object() || !ToText(element, piece, error)) {
            error = "a list may only hold strings, numbers or booleans";
            return false;
          }
          if (!joined.empty()) joined.push_back(';');
          joined.append(piece);
        }
        text = joined;
        return true;
      }
      case element_type::OBJECT:
        text = scratch_.emplace_back(simdjson::minify(value));
        return true;
      case element_type::NULL_VALUE:
        return false;
    }
    return false;
  }

  // Next line (without '\n') into `line`; false at the end of the file.
  bool ReadLine(std::string_view& line) {
    while (true) {
      const char* begin = buffer_.data() + pos_;
      const void* newline = std::memchr(begin, '\n', buffer_.size() - pos_);
      if (newline != nullptr || (eof_ && pos_ < buffer_.size())) {
        const size_t length =
            newline ? static_cast<const char*>(newline) - begin : buffer_.size() - pos_;
        line = std::string_view(begin, length);
        pos_ += length + (newline ? 1 : 0);
        consumed_ += length + (newline ? 1 : 0);
        ++line_;

        return true;
      }
      if (eof_) return false;
      buffer_.erase(0, pos_);
      pos_ = 0;
      const size_t old_size = buffer_.size();
      buffer_.resize(old_size + kChunkBytes);
      const size_t got = std::fread(buffer_.data() + old_size, 1, kChunkBytes, file_);
      buffer_.resize(old_size + got);
      if (got == 0) eof_ = true;
    }
  }

  std::FILE* file_;
  uint64_t total_bytes_;
  uint64_t consumed_ = 0;
  uint64_t line_ = 0;
  bool eof_ = false;
  std::string buffer_;
  size_t pos_ = 0;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> paths_;
  std::deque<std::string> scratch_;
  simdjson::dom::parser parser_;
};

}  // namespace

Result<std::unique_ptr<RowReader>> OpenNdjsonReader(const std::string& path,
                                                    const std::vector<std::string>& wanted) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return IoError("cannot open '{}': {}", path, std::strerror(errno));
  struct stat info {};
  const uint64_t total = ::fstat(fileno(file), &info) == 0 ? info.st_size : 0;
  auto reader = std::make_unique<NdjsonReader>(file, total);
  TAILOR_RETURN_IF_ERROR(reader->Init(wanted));
  return std::unique_ptr<RowReader>(std::move(reader));
}

}  // namespace tailor::ingest

#pragma once

// Reading customer data files (CSV, NDJSON) and turning their rows into profiles, events and
// items, through a mapping that says which column is which. Nothing here touches the store.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/schema.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::ingest {

enum class RecordKind { kProfiles, kEvents, kItems };
enum class FileFormat { kCsv, kNdjson };

std::string_view RecordKindName(RecordKind kind);
std::optional<RecordKind> ParseRecordKind(std::string_view name);

// How the text of a time column is read.
enum class TimeFormat { kIso, kEpochSeconds, kEpochMillis, kOffsetSeconds };

// Where one target field comes from: a column (by name), or a constant.
struct FieldSource {
  std::string column;
  std::optional<std::string> constant;
  TimeFormat time_format = TimeFormat::kIso;
  Timestamp time_base = 0;  // kOffsetSeconds: time = base + value seconds
  char list_separator = ';';
  std::optional<TraitType> type;  // traits/attributes: declared type, else inferred
  std::optional<TraitCategory> category;
  std::string prefix;  // prepended to the value (e.g. "basket-" to make ids readable)
  // The value is the row's line number in the file (for files without an id column: one
  // profile per row, e.g. "session:2" for the first data row of a CSV).
  bool line_number = false;
  // Traits, attributes and properties: the texts a column may hold and what each stands for
  // ("Feb" -> "2"), read before the type; any other text is a bad value.
  std::vector<std::pair<std::string, std::string>> values;
};

// Which columns feed which fields. Built from a mapping file (docs/mapping.md) or, for files in
// tailor's reference shape, from the header alone (DefaultMapping).
struct Mapping {
  RecordKind kind = RecordKind::kEvents;
  std::optional<FileFormat> format;  // nullopt: from the file extension
  char delimiter = ',';
  // Target field name ("id", "profile_id", "time", "price", ...) -> source.
  std::vector<std::pair<std::string, FieldSource>> fields;
  // Named extras: profile traits, item attributes, or event properties.
  std::vector<std::pair<std::string, FieldSource>> extras;
  // Columns named nowhere above become extras (traits/attributes/properties) unless false.
  bool keep_other_columns = true;

  const FieldSource* Field(std::string_view target) const;
};

// Parses a mapping file's JSON text. Errors name the offending key.
Result<Mapping> ParseMapping(std::string_view json_text, RecordKind kind);
// Mapping for a file whose column names are tailor's own field names (the reference shape).
Mapping DefaultMapping(RecordKind kind);

// The target fields each kind understands, for error messages and docs.
const std::vector<std::string_view>& KnownFields(RecordKind kind);

// A row handed out by a RowReader: the text of each column (by index into columns()), and
// where it was in the file. Views stay valid until the next call to Next().
struct Row {
  uint64_t line = 0;  // 1-based line number of the row's first line
  std::vector<std::string_view> values;
  std::vector<bool> present;  // false: the column is absent (NDJSON key missing, JSON null)
};

// Reads rows from a file, in order. Not thread-safe.
class RowReader {
 public:
  virtual ~RowReader() = default;
  // Column names: the CSV header, or the NDJSON keys the mapping asks for.
  virtual const std::vector<std::string>& columns() const = 0;
  // Fills `row` with the next row. Returns false at the end of the file. A malformed row is
  // returned with `error` set (and its line), so that the caller can reject it and go on.
  virtual bool Next(Row& row, std::string& error) = 0;
  // Bytes consumed so far and in all, for progress bars.
  virtual uint64_t bytes_read() const = 0;
  virtual uint64_t total_bytes() const = 0;
};

// Opens `path` as CSV or NDJSON. For NDJSON, `wanted_columns` lists the keys to extract (dotted
// paths such as "context.page.url" reach into objects); for CSV it is ignored (the header rules).
Result<std::unique_ptr<RowReader>> OpenRowReader(const std::string& path, FileFormat format,
                                                 char delimiter,
                                                 const std::vector<std::string>& wanted_columns);
FileFormat FormatFromPath(std::string_view path);

// Turns rows into records. Construct once per file: it resolves column names to indexes and
// fixes each extra's type (from the mapping, the schema, or the first rows of the file).
class RecordBuilder {
 public:
  // `columns` are the reader's columns; `schema` gives the types of known traits; `sample`
  // holds the first rows of the file, used to infer the types of traits the schema lacks.
  static Result<RecordBuilder> Create(const Mapping& mapping,
                                      const std::vector<std::string>& columns, const Schema& schema,
                                      const std::vector<Row>& sample);

  // Each returns kInvalidArgument naming the column and the problem, e.g.
  // "column 'age': 'abc' is not an int".
  Status BuildProfile(const Row& row, ProfileInput& out) const;
  Status BuildEvent(const Row& row, EventInput& out) const;
  Status BuildItem(const Row& row, ItemInput& out) const;

  // Traits/attributes the file brings, with their types and categories (to extend the schema).
  struct ExtraDef {
    std::string name;
    TraitType type;
    TraitCategory category;
  };
  const std::vector<ExtraDef>& extra_defs() const { return extra_defs_; }

 private:
  struct Resolved {
    int column = -1;  // -1: constant or absent
    FieldSource source;
  };
  std::optional<std::string_view> Text(const Row& row, const Resolved& field) const;
  Status ReadExtras(const Row& row, TraitMap& out) const;
  mutable std::string line_text_;  // Text's answer for a line-number field (one row at a time)

  RecordKind kind_ = RecordKind::kEvents;
  std::vector<std::pair<std::string, Resolved>> fields_;  // by target name
  std::vector<Resolved> extras_;
  std::vector<ExtraDef> extra_defs_;
  // Fast access for the hot fields, index into fields_ or -1.
  int id_ = -1, profile_id_ = -1, anonymous_id_ = -1, type_ = -1, time_ = -1;
};

// Reads `text` as a value of `type` (lists split on `separator`). nullopt: not such a value.
std::optional<TypedValue> ParseTypedValue(std::string_view text, TraitType type, char separator);
// The narrowest type that reads every sample (bool < int < double < timestamp < string).
TraitType InferTraitType(const std::vector<std::string_view>& samples, char list_separator);

}  // namespace tailor::ingest

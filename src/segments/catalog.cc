#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "common/coding.h"
#include "common/time.h"
#include "tailor/segment_catalog.h"

namespace tailor::segments {
namespace {

constexpr uint8_t kDefinitionFormat = 1;
// Keys of the definitions table (all text, so they sort by name):
//   segment/<name>                 current definition
//   segment_version/<name>/<v:08>  every version
//   members/<name>                 roaring bitmap of the last evaluation (portable format)
//   size/<name>/<time:016>         size-history point
//   scheme/<name>                  scheme definition
std::string SegmentKey(std::string_view name) { return fmt::format("segment/{}", name); }
std::string VersionKey(std::string_view name, uint32_t version) {
  return fmt::format("segment_version/{}/{:08}", name, version);
}
std::string MembersKey(std::string_view name) { return fmt::format("members/{}", name); }
std::string SizePrefix(std::string_view name) { return fmt::format("size/{}/", name); }
std::string SchemeKey(std::string_view name) { return fmt::format("scheme/{}", name); }
//   feed/<sequence:020>            one membership change
//   feed_next                      the next sequence number (varint)
std::string FeedKey(uint64_t sequence) { return fmt::format("feed/{:020}", sequence); }
//   members_sequence/<name>        the feed sequence members/<name> includes (varint)
std::string MembersSequenceKey(std::string_view name) {
  return fmt::format("members_sequence/{}", name);
}

std::string EncodeChange(const MembershipChange& change) {
  std::string entry;
  coding::PutString(entry, change.segment);
  coding::PutVarint64(entry, change.version);
  coding::PutVarint64(entry, change.profile);
  entry.push_back(change.entered ? 1 : 0);
  coding::PutSignedVarint64(entry, change.at);
  return entry;
}
constexpr std::string_view kFeedNextKey = "feed_next";

Result<MembershipChange> DecodeChange(std::string_view key, std::string_view value) {
  MembershipChange change;
  change.sequence = std::stoull(std::string(key.substr(5)));
  coding::Reader reader(value);
  uint64_t version = 0, profile = 0;
  uint8_t entered = 0;
  if (!reader.GetString(change.segment) || !reader.GetVarint64(version) ||
      !reader.GetVarint64(profile) || !reader.GetByte(entered) ||
      !reader.GetSignedVarint64(change.at)) {
    return Corruption("feed entry {} is malformed", change.sequence);
  }
  change.version = static_cast<uint32_t>(version);
  change.profile = static_cast<ProfileId>(profile);
  change.entered = entered != 0;
  return change;
}

// The end of the key range that starts with `prefix`.
std::string PrefixEnd(std::string prefix) {
  prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

void PutStrings(std::string& out, const std::vector<std::string>& strings) {
  coding::PutVarint64(out, strings.size());
  for (const std::string& text : strings) coding::PutString(out, text);
}
bool GetStrings(coding::Reader& reader, std::vector<std::string>& strings) {
  uint64_t count = 0;
  if (!reader.GetVarint64(count) || count > reader.remaining().size()) return false;
  strings.resize(count);
  for (std::string& text : strings) {
    if (!reader.GetString(text)) return false;
  }
  return true;
}

std::string Encode(const SegmentDefinition& d) {
  std::string out;
  out.push_back(static_cast<char>(kDefinitionFormat));
  coding::PutString(out, d.name);
  coding::PutString(out, d.description);
  out.push_back(static_cast<char>(d.objective));
  coding::PutString(out, d.owner);
  PutStrings(out, d.tags);
  PutStrings(out, d.channels);
  coding::PutString(out, d.rule);
  coding::PutString(out, d.exclude);
  coding::PutVarint64(out, d.version);
  coding::PutSignedVarint64(out, d.updated_at);
  return out;
}

Result<SegmentDefinition> Decode(std::string_view bytes) {
  coding::Reader reader(bytes);
  SegmentDefinition d;
  uint8_t format = 0, objective = 0;
  uint64_t version = 0;
  const bool ok = reader.GetByte(format) && format == kDefinitionFormat &&
                  reader.GetString(d.name) && reader.GetString(d.description) &&
                  reader.GetByte(objective) && objective <= 3 && reader.GetString(d.owner) &&
                  GetStrings(reader, d.tags) && GetStrings(reader, d.channels) &&
                  reader.GetString(d.rule) && reader.GetString(d.exclude) &&
                  reader.GetVarint64(version) && reader.GetSignedVarint64(d.updated_at);
  if (!ok) return Corruption("segment definition is malformed");
  d.objective = static_cast<Objective>(objective);
  d.version = static_cast<uint32_t>(version);
  return d;
}

std::string EncodeScheme(const SchemeDefinition& s) {
  std::string out;
  out.push_back(static_cast<char>(kDefinitionFormat));
  coding::PutString(out, s.name);
  coding::PutString(out, s.description);
  PutStrings(out, s.members);
  out.push_back(s.otherwise ? 1 : 0);
  coding::PutVarint64(out, s.version);
  return out;
}

Result<SchemeDefinition> DecodeScheme(std::string_view bytes) {
  coding::Reader reader(bytes);
  SchemeDefinition s;
  uint8_t format = 0, otherwise = 0;
  uint64_t version = 0;
  const bool ok = reader.GetByte(format) && format == kDefinitionFormat &&
                  reader.GetString(s.name) && reader.GetString(s.description) &&
                  GetStrings(reader, s.members) && reader.GetByte(otherwise) &&
                  reader.GetVarint64(version);
  if (!ok) return Corruption("scheme definition is malformed");
  s.otherwise = otherwise != 0;
  s.version = static_cast<uint32_t>(version);
  return s;
}

// Every value under `prefix` of the definitions table, decoded; the first malformed one fails.
template <typename DecodeFn>
auto ScanDecoded(const store::Store& store, const std::string& prefix, DecodeFn decode)
    -> Result<std::vector<typename decltype(decode(std::string_view()))::value_type>> {
  using Value = typename decltype(decode(std::string_view()))::value_type;
  std::vector<Value> all;
  Status decode_status;
  TAILOR_RETURN_IF_ERROR(store.Scan(store::Table::kDefinitions, prefix, PrefixEnd(prefix),
                                    [&](std::string_view, std::string_view bytes) {
                                      auto value = decode(bytes);
                                      if (!value.ok()) {
                                        decode_status = value.status();
                                        return false;
                                      }
                                      all.push_back(std::move(value).value());
                                      return true;
                                    }));
  TAILOR_RETURN_IF_ERROR(decode_status);
  return all;
}

// Segment names must be usable in rule text (`in segment "x"`) and in keys.
Status CheckName(std::string_view name) {
  if (name.empty() || name.size() > 128) return InvalidArgument("a name has 1 to 128 characters");
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return InvalidArgument("name '{}': use letters, digits, '_', '-' and '.'", name);
    }
  }
  return Status::Ok();
}

// The catalogue seen by the checker, with one definition replaced (the one being put).
class CatalogResolver final : public SegmentResolver {
 public:
  CatalogResolver(std::map<std::string, std::vector<std::string>> references)
      : references_(std::move(references)) {}
  bool Exists(std::string_view segment) const override {
    return references_.count(std::string(segment)) > 0;
  }
  std::vector<std::string> References(std::string_view segment) const override {
    auto it = references_.find(std::string(segment));
    return it == references_.end() ? std::vector<std::string>{} : it->second;
  }

 private:
  std::map<std::string, std::vector<std::string>> references_;
};

std::vector<std::string> DefinitionReferences(const SegmentDefinition& d) {
  std::vector<std::string> references;
  for (const std::string* text : {&d.rule, &d.exclude}) {
    if (text->empty()) continue;
    auto rule = ParseRule(*text);
    if (!rule.ok()) continue;
    for (std::string& name : SegmentReferences(*rule)) references.push_back(std::move(name));
  }
  return references;
}

}  // namespace

std::string_view ObjectiveName(Objective objective) {
  static constexpr std::string_view kNames[] = {"acquire", "engage", "reactivate", "retain"};
  return kNames[static_cast<int>(objective)];
}

std::optional<Objective> ParseObjective(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (ObjectiveName(static_cast<Objective>(i)) == name) return static_cast<Objective>(i);
  }
  return std::nullopt;
}

Status SegmentCatalog::Put(SegmentDefinition definition, const Schema& schema) {
  TAILOR_RETURN_IF_ERROR(CheckName(definition.name));
  for (const std::string& channel : definition.channels) {
    if (std::find(std::begin(kChannels), std::end(kChannels), channel) == std::end(kChannels)) {
      return InvalidArgument("unknown channel '{}' (email, web, app, sms, push, store)", channel);
    }
  }
  TAILOR_ASSIGN_OR_RETURN(std::vector<SegmentDefinition> all, List());
  std::map<std::string, std::vector<std::string>> references;
  uint32_t version = 1;
  for (const SegmentDefinition& existing : all) {
    if (existing.name == definition.name) {
      version = existing.version + 1;
      continue;
    }
    references[existing.name] = DefinitionReferences(existing);
  }
  references[definition.name] = {};  // a segment may not refer to itself; CheckNoCycles says so
  const CatalogResolver resolver(references);
  for (const auto& [text, what] :
       {std::pair{&definition.rule, "rule"}, std::pair{&definition.exclude, "exclude"}}) {
    if (text->empty()) {
      if (std::string_view(what) == "rule") return InvalidArgument("a segment needs a rule");
      continue;
    }
    auto rule = ParseRule(*text);
    if (!rule.ok()) return rule.status().WithContext(what);
    TAILOR_RETURN_IF_ERROR(CheckRule(*rule, schema, resolver).WithContext(what));
    TAILOR_RETURN_IF_ERROR(CheckNoCycles(definition.name, *rule, resolver).WithContext(what));
  }
  definition.version = version;
  definition.updated_at = Now(clock_);
  store::Batch batch = store_.NewBatch();
  const std::string bytes = Encode(definition);
  batch.Put(store::Table::kDefinitions, SegmentKey(definition.name), bytes);
  batch.Put(store::Table::kDefinitions, VersionKey(definition.name, version), bytes);
  return store_.Commit(batch);
}

Status SegmentCatalog::Delete(std::string_view name) {
  TAILOR_ASSIGN_OR_RETURN(std::vector<SegmentDefinition> all, List());
  bool found = false;
  for (const SegmentDefinition& d : all) {
    if (d.name == name) {
      found = true;
      continue;
    }
    for (const std::string& reference : DefinitionReferences(d)) {
      if (reference == name) {
        return FailedPrecondition("segment '{}' is used by segment '{}'", name, d.name);
      }
    }
  }
  if (!found) return NotFound("no segment '{}'", name);
  store::Batch batch = store_.NewBatch();
  batch.Delete(store::Table::kDefinitions, SegmentKey(name));
  batch.Delete(store::Table::kDefinitions, MembersKey(name));
  return store_.Commit(batch);  // versions and size history stay, for the record
}

Result<SegmentDefinition> SegmentCatalog::Get(std::string_view name) const {
  std::string bytes;
  Status found = store_.Get(store::Table::kDefinitions, SegmentKey(name), bytes);
  if (found.code() == StatusCode::kNotFound) return NotFound("no segment '{}'", name);
  TAILOR_RETURN_IF_ERROR(found);
  return Decode(bytes);
}

Result<SegmentDefinition> SegmentCatalog::GetVersion(std::string_view name,
                                                     uint32_t version) const {
  std::string bytes;
  Status found = store_.Get(store::Table::kDefinitions, VersionKey(name, version), bytes);
  if (found.code() == StatusCode::kNotFound)
    return NotFound("segment '{}' has no version {}", name, version);
  TAILOR_RETURN_IF_ERROR(found);
  return Decode(bytes);
}

Result<std::vector<SegmentDefinition>> SegmentCatalog::Versions(std::string_view name) const {
  TAILOR_RETURN_IF_ERROR(Get(name).status());
  TAILOR_ASSIGN_OR_RETURN(auto versions,
                          ScanDecoded(store_, fmt::format("segment_version/{}/", name), Decode));
  std::reverse(versions.begin(), versions.end());
  return versions;
}

Result<std::vector<SegmentDefinition>> SegmentCatalog::List() const {
  return ScanDecoded(store_, "segment/", Decode);
}

Status SegmentCatalog::PutScheme(SchemeDefinition scheme) {
  TAILOR_RETURN_IF_ERROR(CheckName(scheme.name));
  if (scheme.members.empty()) return InvalidArgument("a scheme needs at least one member");
  std::set<std::string> seen;
  for (const std::string& member : scheme.members) {
    if (!seen.insert(member).second)
      return InvalidArgument("segment '{}' is twice in the scheme", member);
    TAILOR_RETURN_IF_ERROR(Get(member).status());
  }
  auto existing = GetScheme(scheme.name);
  scheme.version = existing.ok() ? existing->version + 1 : 1;
  store::Batch batch = store_.NewBatch();
  batch.Put(store::Table::kDefinitions, SchemeKey(scheme.name), EncodeScheme(scheme));
  return store_.Commit(batch);
}

Result<SchemeDefinition> SegmentCatalog::GetScheme(std::string_view name) const {
  std::string bytes;
  Status found = store_.Get(store::Table::kDefinitions, SchemeKey(name), bytes);
  if (found.code() == StatusCode::kNotFound) return NotFound("no scheme '{}'", name);
  TAILOR_RETURN_IF_ERROR(found);
  return DecodeScheme(bytes);
}

Result<std::vector<SchemeDefinition>> SegmentCatalog::ListSchemes() const {
  return ScanDecoded(store_, "scheme/", DecodeScheme);
}

void WriteDefinitionFields(JsonWriter& json, const SegmentDefinition& d) {
  json.Key("name")
      .String(d.name)
      .Key("version")
      .Uint(d.version)
      .Key("description")
      .String(d.description)
      .Key("objective")
      .String(ObjectiveName(d.objective))
      .Key("owner")
      .String(d.owner)
      .Key("tags")
      .BeginArray();
  for (const std::string& tag : d.tags) json.String(tag);
  json.EndArray().Key("channels").BeginArray();
  for (const std::string& channel : d.channels) json.String(channel);
  json.EndArray()
      .Key("rule")
      .String(d.rule)
      .Key("exclude")
      .String(d.exclude)
      .Key("updated_at")
      .String(IsoTime(d.updated_at));
}

Result<SegmentResult> EvaluateDefinition(const SegmentDefinition& definition,
                                         const EvalContext& context) {
  TAILOR_ASSIGN_OR_RETURN(Rule rule, ParseRule(definition.rule));
  TAILOR_ASSIGN_OR_RETURN(ProfileSet matched, Evaluate(rule, context));
  SegmentResult result;
  result.matched = matched.cardinality();
  if (!definition.exclude.empty()) {
    TAILOR_ASSIGN_OR_RETURN(Rule exclude, ParseRule(definition.exclude));
    TAILOR_ASSIGN_OR_RETURN(ProfileSet excluded, Evaluate(exclude, context));
    matched -= excluded;
  }
  result.excluded = result.matched - matched.cardinality();
  result.members = std::move(matched);
  result.evaluated_at = context.now;
  return result;
}

Result<std::vector<std::pair<std::string, SegmentResult>>> SegmentCatalog::EvaluateAll(
    EvalContext context) {
  TAILOR_ASSIGN_OR_RETURN(std::vector<SegmentDefinition> all, List());
  std::map<std::string, SegmentResult> done;
  context.segment = [&done](std::string_view name) -> const ProfileSet* {
    auto it = done.find(std::string(name));
    return it == done.end() ? nullptr : &it->second.members;
  };
  std::vector<std::pair<std::string, SegmentResult>> results;
  // Changes are relative to the members now, live updates included, so none is fed twice.
  TAILOR_ASSIGN_OR_RETURN(auto current, CurrentMembers());
  store::Batch batch = store_.NewBatch();
  // Results are as of the evaluation's `now`, so that replays and back-dated runs line up.
  const Timestamp evaluated_at = context.now;
  uint64_t next_sequence = 1;
  {
    std::string bytes;
    Status found = store_.Get(store::Table::kDefinitions, kFeedNextKey, bytes);
    if (found.ok()) {
      coding::Reader reader(bytes);
      if (!reader.GetVarint64(next_sequence)) return Corruption("feed_next is malformed");
    } else if (found.code() != StatusCode::kNotFound) {
      return found;
    }
  }
  auto append_changes = [&](const SegmentDefinition& d, const ProfileSet& from,
                            const ProfileSet& to, bool entered) {
    const ProfileSet changed = to - from;
    for (uint32_t profile : changed) {
      const MembershipChange change{0, d.name, d.version, profile, entered, evaluated_at};
      batch.Put(store::Table::kDefinitions, FeedKey(next_sequence++), EncodeChange(change));
    }
  };
  // Conditions several segments contain are evaluated once for the whole catalogue.
  SharedConditions own_shared;
  if (context.shared == nullptr) context.shared = &own_shared;
  for (const SegmentDefinition& d : all) {
    for (const std::string* text : {&d.rule, &d.exclude}) {
      if (text->empty()) continue;
      TAILOR_ASSIGN_OR_RETURN(Rule rule, ParseRule(*text));
      context.shared->Count(rule);
    }
  }
  while (done.size() < all.size()) {
    bool progressed = false;
    for (const SegmentDefinition& d : all) {
      if (done.count(d.name)) continue;
      bool ready = true;
      for (const std::string& reference : DefinitionReferences(d))
        ready = ready && done.count(reference);
      if (!ready) continue;
      TAILOR_ASSIGN_OR_RETURN(SegmentResult result, EvaluateDefinition(d, context));
      result.evaluated_at = evaluated_at;
      const ProfileSet& before = current[d.name];
      append_changes(d, before, result.members, /*entered=*/true);
      append_changes(d, result.members, before, /*entered=*/false);
      std::string bitmap(result.members.getSizeInBytes(/*portable=*/true), '\0');
      result.members.write(bitmap.data(), /*portable=*/true);
      batch.Put(store::Table::kDefinitions, MembersKey(d.name), bitmap);
      std::string sequence;
      coding::PutVarint64(sequence, next_sequence - 1);
      batch.Put(store::Table::kDefinitions, MembersSequenceKey(d.name), sequence);
      std::string point;
      coding::PutVarint64(point, d.version);
      coding::PutVarint64(point, result.members.cardinality());
      coding::PutVarint64(point, result.matched);
      coding::PutVarint64(point, result.excluded);
      batch.Put(store::Table::kDefinitions,
                fmt::format("{}{:016}", SizePrefix(d.name), evaluated_at), point);
      done.emplace(d.name, result);
      results.emplace_back(d.name, std::move(result));
      progressed = true;
    }
    if (!progressed) return FailedPrecondition("segments refer to missing or cyclic segments");
  }
  std::string next;
  coding::PutVarint64(next, next_sequence);
  batch.Put(store::Table::kDefinitions, kFeedNextKey, next);
  TAILOR_RETURN_IF_ERROR(store_.Commit(batch));
  return results;
}

Result<std::map<std::string, ProfileSet>> SegmentCatalog::CurrentMembers() const {
  TAILOR_ASSIGN_OR_RETURN(std::vector<SegmentDefinition> all, List());
  std::map<std::string, ProfileSet> current;
  std::map<std::string, uint64_t> as_of;
  uint64_t oldest = UINT64_MAX;
  for (const SegmentDefinition& d : all) {
    auto members = Members(d.name);
    if (!members.ok() && members.status().code() != StatusCode::kNotFound) return members.status();
    current[d.name] = members.ok() ? std::move(members).value() : ProfileSet();
    TAILOR_ASSIGN_OR_RETURN(as_of[d.name], MembersSequence(d.name));
    oldest = std::min(oldest, as_of[d.name]);
  }
  if (all.empty()) return current;
  // Replay what was fed after each segment's stored members, in order.
  uint64_t cursor = oldest;
  while (true) {
    TAILOR_ASSIGN_OR_RETURN(std::vector<MembershipChange> changes, ReadChanges(cursor, 100000));
    if (changes.empty()) break;
    for (const MembershipChange& change : changes) {
      auto it = current.find(change.segment);
      if (it == current.end() || change.sequence <= as_of[change.segment]) continue;
      if (change.entered) {
        it->second.add(change.profile);
      } else {
        it->second.remove(change.profile);
      }
    }
    cursor = changes.back().sequence;
  }
  return current;
}

Status SegmentCatalog::AppendChanges(std::vector<MembershipChange>& changes) {
  if (changes.empty()) return Status::Ok();
  uint64_t next_sequence = 1;
  std::string bytes;
  Status found = store_.Get(store::Table::kDefinitions, kFeedNextKey, bytes);
  if (found.ok()) {
    coding::Reader reader(bytes);
    if (!reader.GetVarint64(next_sequence)) return Corruption("feed_next is malformed");
  } else if (found.code() != StatusCode::kNotFound) {
    return found;
  }
  store::Batch batch = store_.NewBatch();
  for (MembershipChange& change : changes) {
    change.sequence = next_sequence++;
    batch.Put(store::Table::kDefinitions, FeedKey(change.sequence), EncodeChange(change));
  }
  std::string next;
  coding::PutVarint64(next, next_sequence);
  batch.Put(store::Table::kDefinitions, kFeedNextKey, next);
  return store_.Commit(batch);
}

Result<uint64_t> SegmentCatalog::MembersSequence(std::string_view name) const {
  std::string bytes;
  Status found = store_.Get(store::Table::kDefinitions, MembersSequenceKey(name), bytes);
  if (found.code() == StatusCode::kNotFound) return uint64_t{0};
  TAILOR_RETURN_IF_ERROR(found);
  coding::Reader reader(bytes);
  uint64_t sequence = 0;
  if (!reader.GetVarint64(sequence))
    return Corruption("members_sequence of '{}' is malformed", name);
  return sequence;
}

Result<std::vector<MembershipChange>> SegmentCatalog::ReadChanges(uint64_t after,
                                                                  size_t limit) const {
  std::vector<MembershipChange> changes;
  Status decode_status;
  TAILOR_RETURN_IF_ERROR(store_.Scan(store::Table::kDefinitions, FeedKey(after + 1),
                                     PrefixEnd("feed/"),
                                     [&](std::string_view key, std::string_view value) {
                                       if (changes.size() >= limit) return false;
                                       auto change = DecodeChange(key, value);
                                       if (!change.ok()) {
                                         decode_status = change.status();
                                         return false;
                                       }
                                       changes.push_back(std::move(change).value());
                                       return true;
                                     }));
  TAILOR_RETURN_IF_ERROR(decode_status);
  return changes;
}

Result<uint64_t> SegmentCatalog::LatestSequence() const {
  std::string bytes;
  Status found = store_.Get(store::Table::kDefinitions, kFeedNextKey, bytes);
  if (found.code() == StatusCode::kNotFound) return uint64_t{0};
  TAILOR_RETURN_IF_ERROR(found);
  coding::Reader reader(bytes);
  uint64_t next_sequence = 1;
  if (!reader.GetVarint64(next_sequence) || next_sequence == 0) {
    return Corruption("feed_next is malformed");
  }
  return next_sequence - 1;
}

Result<std::map<std::string, std::vector<SegmentCatalog::DayCount>>> SegmentCatalog::ChangesPerDay(
    Timestamp since, size_t max_changes) const {
  TAILOR_ASSIGN_OR_RETURN(const uint64_t latest, LatestSequence());
  // The first sequence fed at or after `since`: bisection over [low, high].
  uint64_t low = latest > max_changes ? latest - max_changes + 1 : 1;
  uint64_t high = latest + 1;  // past the end: none is as late
  while (low < high) {
    const uint64_t middle = low + (high - low) / 2;
    std::string bytes;
    const std::string key = FeedKey(middle);
    TAILOR_RETURN_IF_ERROR(store_.Get(store::Table::kDefinitions, key, bytes));
    TAILOR_ASSIGN_OR_RETURN(const MembershipChange change, DecodeChange(key, bytes));
    if (change.at >= since) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  std::map<std::string, std::vector<DayCount>> days;
  Status decode_status;
  TAILOR_RETURN_IF_ERROR(store_.Scan(store::Table::kDefinitions, FeedKey(low), PrefixEnd("feed/"),
                                     [&](std::string_view key, std::string_view value) {
                                       auto change = DecodeChange(key, value);
                                       if (!change.ok()) {
                                         decode_status = change.status();
                                         return false;
                                       }
                                       const int64_t day = DayOf(change->at);
                                       std::vector<DayCount>& counts = days[change->segment];
                                       if (counts.empty() || counts.back().day != day)
                                         counts.push_back({day});
                                       DayCount& count = counts.back();
                                       ++(change->entered ? count.entered : count.exited);
                                       return true;
                                     }));
  TAILOR_RETURN_IF_ERROR(decode_status);
  return days;
}

Result<ProfileSet> SegmentCatalog::Members(std::string_view name) const {
  std::string bytes;
  Status found = store_.Get(store::Table::kDefinitions, MembersKey(name), bytes);
  if (found.code() == StatusCode::kNotFound) {
    return NotFound("segment '{}' has not been evaluated yet (tailor segment eval)", name);
  }
  TAILOR_RETURN_IF_ERROR(found);
  // The stored bytes come from our own writes, but a torn or foreign value must not crash us.
  const size_t size = roaring_bitmap_portable_deserialize_size(bytes.data(), bytes.size());
  if (size == 0 || size > bytes.size()) return Corruption("members of '{}' are malformed", name);
  try {
    return ProfileSet::readSafe(bytes.data(), bytes.size());
  } catch (const std::exception& error) {  // CRoaring's C++ wrapper throws on bad input
    return Corruption("members of '{}' are malformed: {}", name, error.what());
  }
}

Result<std::vector<SizePoint>> SegmentCatalog::History(std::string_view name) const {
  std::vector<SizePoint> points;
  const std::string prefix = SizePrefix(name);
  TAILOR_RETURN_IF_ERROR(store_.Scan(
      store::Table::kDefinitions, prefix, PrefixEnd(prefix),
      [&](std::string_view key, std::string_view value) {
        coding::Reader reader(value);
        uint64_t version = 0, size = 0, matched = 0, excluded = 0;
        if (reader.GetVarint64(version) && reader.GetVarint64(size) &&
            reader.GetVarint64(matched) && reader.GetVarint64(excluded)) {
          const Timestamp at = std::stoll(std::string(key.substr(prefix.size())));
          points.push_back({at, static_cast<uint32_t>(version), size, matched, excluded});
        }
        return true;
      }));
  return points;
}

}  // namespace tailor::segments

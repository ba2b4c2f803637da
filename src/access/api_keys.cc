#include "tailor/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <mutex>

#include "common/coding.h"
#include "tailor/clock.h"

namespace tailor::access {
namespace {

constexpr std::string_view kKeyPrefix = "key/";
constexpr std::string_view kScopeNames[] = {"admin", "write", "read", "segments", "decide"};
constexpr size_t kIdBytes = 6, kSecretBytes = 24;

std::string Hex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 15]);
  }
  return out;
}

Result<std::string> RandomHex(size_t bytes) {
  std::array<unsigned char, 64> buffer{};
  if (RAND_bytes(buffer.data(), static_cast<int>(bytes)) != 1) {
    return Internal("no randomness for a new key");
  }
  return Hex(buffer.data(), bytes);
}

std::string Encode(const ApiKey& key) {
  std::string out;
  coding::PutVarint64(out, 1);  // format version
  coding::PutString(out, key.id);
  coding::PutString(out, key.name);
  coding::PutVarint64(out, key.scopes.size());
  for (Scope scope : key.scopes) coding::PutVarint64(out, static_cast<uint64_t>(scope));
  coding::PutVarint64(out, key.is_public ? 1 : 0);
  coding::PutVarint64(out, key.origins.size());
  for (const std::string& origin : key.origins) coding::PutString(out, origin);
  coding::PutDouble(out, key.rate_per_second);
  coding::PutSignedVarint64(out, key.created_at);
  coding::PutVarint64(out, key.revoked ? 1 : 0);
  coding::PutString(out, key.secret_hash);
  return out;
}

Result<ApiKey> Decode(std::string_view bytes) {
  coding::Reader reader(bytes);
  ApiKey key;
  uint64_t version = 0, scopes = 0, is_public = 0, origins = 0, revoked = 0;
  bool ok = reader.GetVarint64(version) && version == 1 && reader.GetString(key.id) &&
            reader.GetString(key.name) && reader.GetVarint64(scopes) && scopes < 16;
  for (uint64_t i = 0; ok && i < scopes; ++i) {
    uint64_t scope = 0;
    ok = reader.GetVarint64(scope) && scope < std::size(kScopeNames);
    key.scopes.push_back(static_cast<Scope>(scope));
  }
  ok = ok && reader.GetVarint64(is_public) && reader.GetVarint64(origins) && origins < 1024;
  for (uint64_t i = 0; ok && i < origins; ++i) {
    ok = reader.GetString(key.origins.emplace_back());
  }
  ok = ok && reader.GetDouble(key.rate_per_second) && reader.GetSignedVarint64(key.created_at) &&
       reader.GetVarint64(revoked) && reader.GetString(key.secret_hash);
  if (!ok) return Corruption("malformed API key record");
  key.is_public = is_public != 0;
  key.revoked = revoked != 0;
  return key;
}

std::string KeyOf(std::string_view id) { return std::string(kKeyPrefix) + std::string(id); }

}  // namespace

std::string_view ScopeName(Scope scope) { return kScopeNames[static_cast<size_t>(scope)]; }

std::optional<Scope> ParseScope(std::string_view name) {
  for (size_t i = 0; i < std::size(kScopeNames); ++i) {
    if (kScopeNames[i] == name) return static_cast<Scope>(i);
  }
  return std::nullopt;
}

bool ApiKey::Allows(Scope scope) const {
  if (is_public) return scope == Scope::kWrite;  // whatever else it was given
  return std::find(scopes.begin(), scopes.end(), Scope::kAdmin) != scopes.end() ||
         std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

std::string Sha256Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  return Hex(digest, size);
}

Status KeyStore::Load() {
  std::vector<ApiKey> keys;
  Status decoded;
  TAILOR_RETURN_IF_ERROR(store_.Scan(store::Table::kDefinitions, kKeyPrefix,
                                     "key0",  // '0' follows '/'
                                     [&](std::string_view, std::string_view bytes) {
                                       auto key = Decode(bytes);
                                       if (!key.ok()) {
                                         decoded = key.status();
                                         return false;
                                       }
                                       keys.push_back(std::move(key).value());
                                       return true;
                                     }));
  TAILOR_RETURN_IF_ERROR(decoded);
  std::lock_guard lock(mutex_);
  keys_ = std::move(keys);
  return Status::Ok();
}

Result<std::string> KeyStore::Create(ApiKey key) {
  if (key.name.empty()) return InvalidArgument("a key needs a name");
  if (key.scopes.empty()) return InvalidArgument("a key needs at least one scope");
  if (key.is_public && key.origins.empty()) {
    return InvalidArgument("a public key needs the origins it may be used from (--origin)");
  }
  for (const std::string& origin : key.origins) {
    if (!origin.starts_with("http://") && !origin.starts_with("https://")) {
      return InvalidArgument("origin '{}' must start with http:// or https://", origin);
    }
  }
  if (key.rate_per_second < 0) return InvalidArgument("the rate limit must be >= 0");
  TAILOR_ASSIGN_OR_RETURN(key.id, RandomHex(kIdBytes));
  TAILOR_ASSIGN_OR_RETURN(std::string secret, RandomHex(kSecretBytes));
  const std::string text = fmt::format("tk_{}_{}", key.id, secret);
  key.secret_hash = Sha256Hex(text);
  key.created_at = SystemClockMillis();
  store::Batch batch = store_.NewBatch();
  batch.Put(store::Table::kDefinitions, KeyOf(key.id), Encode(key));
  std::lock_guard lock(mutex_);
  TAILOR_RETURN_IF_ERROR(store_.Commit(batch));
  keys_.push_back(std::move(key));
  return text;
}

Status KeyStore::Revoke(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto it =
      std::find_if(keys_.begin(), keys_.end(), [&](const ApiKey& key) { return key.id == id; });
  if (it == keys_.end()) return NotFound("no API key '{}'", id);
  ApiKey revoked = *it;
  revoked.revoked = true;
  store::Batch batch = store_.NewBatch();
  batch.Put(store::Table::kDefinitions, KeyOf(id), Encode(revoked));
  TAILOR_RETURN_IF_ERROR(store_.Commit(batch));
  *it = std::move(revoked);
  return Status::Ok();
}

std::vector<ApiKey> KeyStore::List() const {
  std::lock_guard lock(mutex_);
  return keys_;
}

size_t KeyStore::size() const {
  std::lock_guard lock(mutex_);
  return keys_.size();
}

Result<ApiKey> KeyStore::Authenticate(std::string_view presented) const {
  // "tk_<id>_<secret>": the id finds the record, the hash of the whole text must match.
  if (!presented.starts_with("tk_") || presented.size() > 256) return NotFound("unknown API key");
  const size_t underscore = presented.find('_', 3);
  if (underscore == std::string_view::npos) return NotFound("unknown API key");
  const std::string_view id = presented.substr(3, underscore - 3);
  const std::string hash = Sha256Hex(presented);
  std::lock_guard lock(mutex_);
  for (const ApiKey& key : keys_) {
    if (key.id != id) continue;
    if (key.secret_hash.size() != hash.size() ||
        CRYPTO_memcmp(key.secret_hash.data(), hash.data(), hash.size()) != 0) {
      return NotFound("unknown API key");
    }
    if (key.revoked) return FailedPrecondition("API key {} was revoked", key.id);
    return key;
  }
  return NotFound("unknown API key");
}

void WriteApiKey(JsonWriter& json, const ApiKey& key) {
  json.BeginObject().Key("id").String(key.id).Key("name").String(key.name);
  json.Key("scopes").BeginArray();
  for (Scope scope : key.scopes) json.String(ScopeName(scope));
  json.EndArray().Key("public").Bool(key.is_public).Key("origins").BeginArray();
  for (const std::string& origin : key.origins) json.String(origin);
  json.EndArray()
      .Key("rate_per_second")
      .Double(key.rate_per_second)
      .Key("created_at")
      .String(IsoTime(key.created_at))
      .Key("revoked")
      .Bool(key.revoked)
      .EndObject();
}

}  // namespace tailor::access

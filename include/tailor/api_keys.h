#pragma once

// API keys: who may call the server and what for. A key is shown once when created
// ("tk_<id>_<secret>"); the store keeps only its SHA-256, compared in constant time.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/json_writer.h"
#include "tailor/status.h"
#include "tailor/store.h"
#include "tailor/types.h"

namespace tailor::access {

// What a key may do. kAdmin may do everything.
enum class Scope : uint8_t { kAdmin, kWrite, kRead, kSegments, kDecide };
std::string_view ScopeName(Scope scope);
std::optional<Scope> ParseScope(std::string_view name);

struct ApiKey {
  std::string id;  // public part, in logs and the admin listing
  std::string name;
  std::vector<Scope> scopes;
  // A public key (the website tracker's) may only send events, and only from `origins`.
  bool is_public = false;
  std::vector<std::string> origins;  // "https://shop.example"; empty = any (non-public keys)
  double rate_per_second = 0;        // requests per second allowed; 0 = unlimited
  Timestamp created_at = 0;
  bool revoked = false;
  std::string secret_hash;  // SHA-256 of the whole key, hex

  bool Allows(Scope scope) const;
};

// Keys in the store's definitions table (`key/<id>`). Thread-safe: Authenticate may be called
// from any thread while Create/Revoke run (each takes a lock and reads the store).
class KeyStore {
 public:
  explicit KeyStore(store::Store& store) : store_(store) {}
  Status Load();

  // Returns the new key's full text, shown once.
  Result<std::string> Create(ApiKey key);
  Status Revoke(std::string_view id);
  std::vector<ApiKey> List() const;
  size_t size() const;

  // The key for `presented` (the full text), or kNotFound / kFailedPrecondition (revoked).
  Result<ApiKey> Authenticate(std::string_view presented) const;

 private:
  store::Store& store_;
  mutable std::mutex mutex_;
  std::vector<ApiKey> keys_;
};

// A key as the API and the CLI list it (no secret): {"id", "name", "scopes", "public",
// "origins", "rate_per_second", "created_at", "revoked"}.
void WriteApiKey(JsonWriter& json, const ApiKey& key);

// SHA-256 of `text` as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view text);

}  // namespace tailor::access

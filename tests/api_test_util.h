#pragma once

// API keys for tests that call the server's Api in process.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tailor/api_keys.h"

namespace tailor::testing {

// A new key with `scopes`; its secret ("tk_<id>_<secret>").
inline std::string CreateKey(access::KeyStore& keys, std::string name,
                             std::vector<access::Scope> scopes, double rate_per_second = 0) {
  access::ApiKey key;
  key.name = std::move(name);
  key.scopes = std::move(scopes);
  key.rate_per_second = rate_per_second;
  auto created = keys.Create(key);
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  return created.ok() ? *created : std::string();
}

// The website tracker's key: public, write-only, allowed from https://shop.example.
inline std::string CreateSiteKey(access::KeyStore& keys) {
  access::ApiKey site;
  site.name = "site";
  site.scopes = {access::Scope::kWrite};
  site.is_public = true;
  site.origins = {"https://shop.example"};
  auto created = keys.Create(site);
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  return created.ok() ? *created : std::string();
}

}  // namespace tailor::testing

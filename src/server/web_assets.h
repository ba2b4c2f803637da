#pragma once

// The web app's files (web/app, bundled by web/app/build.mjs at build time into a generated
// source): served by tailor serve at / and /app/..., nothing fetched from outside at run time.

#include <span>
#include <string_view>

namespace tailor::server {

struct WebAsset {
  std::string_view path;  // "/", "/app/app-<hash>.js"
  std::string_view content_type;
  std::string_view bytes;
  std::string_view gzip;  // the same bytes gzipped
  bool immutable;         // named by its content's hash: cached for good
};

std::span<const WebAsset> WebAssets();

}  // namespace tailor::server

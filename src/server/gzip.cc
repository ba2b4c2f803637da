// Request bodies sent with Content-Encoding: gzip (RudderStack's SDKs do by default).

#include "server/gzip.h"

#include <zlib.h>

namespace tailor::server {

Result<std::string> Gunzip(std::string_view compressed, size_t max_bytes) {
  z_stream stream{};
  // 16 + MAX_WBITS: gzip framing only.
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) return Internal("zlib init failed");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  int result = Z_OK;
  while (result != Z_STREAM_END) {
    if (out.size() >= max_bytes + 1) break;  // a limit on what it expands to, not on its size
    const size_t before = out.size();
    out.resize(std::min(max_bytes + 1, before + 64 * 1024));
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + before);
    stream.avail_out = static_cast<uInt>(out.size() - before);
    result = inflate(&stream, Z_NO_FLUSH);
    out.resize(out.size() - stream.avail_out);
    if (result != Z_OK && result != Z_STREAM_END) {
      inflateEnd(&stream);
      return InvalidArgument("the gzip body is corrupt ({})", stream.msg ? stream.msg : "inflate");
    }
    if (result == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) {
      inflateEnd(&stream);
      return InvalidArgument("the gzip body is truncated");
    }
  }
  inflateEnd(&stream);
  if (out.size() > max_bytes) {
    return Status(StatusCode::kResourceExhausted,
                  fmt::format("the body expands to more than {} bytes", max_bytes));
  }
  return out;
}

}  // namespace tailor::server

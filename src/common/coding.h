#pragma once

// Byte encodings shared by every on-disk format (see docs/storage_format.md): little-endian
// varints for values, big-endian fixed-width integers for keys (so byte order = numeric order).

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tailor::coding {

inline void PutVarint64(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}
inline uint64_t ZigZag(int64_t value) {
  return (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
}
inline int64_t UnZigZag(uint64_t value) {
  return static_cast<int64_t>(value >> 1) ^ -static_cast<int64_t>(value & 1);
}
inline void PutSignedVarint64(std::string& out, int64_t value) { PutVarint64(out, ZigZag(value)); }
inline void PutString(std::string& out, std::string_view text) {
  PutVarint64(out, text.size());
  out.append(text);
}
inline void PutDouble(std::string& out, double value) {
  char bytes[8];
  std::memcpy(bytes, &value, 8);
  out.append(bytes, 8);
}
inline void PutFixed64(std::string& out, uint64_t value) {
  char bytes[8];
  std::memcpy(bytes, &value, 8);
  out.append(bytes, 8);
}
inline void PutBigEndian32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}
inline void PutBigEndian64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}
inline uint32_t ReadBigEndian32(const char* bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

// Writes into memory the caller has sized (hot encoders: no capacity check per field). The
// caller guarantees room for everything it writes; UpperBound* below helps size it.
class RawWriter {
 public:
  explicit RawWriter(char* out) : out_(out) {}
  void PutVarint64(uint64_t value) {
    while (value >= 0x80) {
      *out_++ = static_cast<char>(value | 0x80);
      value >>= 7;
    }
    *out_++ = static_cast<char>(value);
  }
  void PutSignedVarint64(int64_t value) { PutVarint64(ZigZag(value)); }
  void PutString(std::string_view text) {
    PutVarint64(text.size());
    std::memcpy(out_, text.data(), text.size());
    out_ += text.size();
  }
  void PutDouble(double value) {
    std::memcpy(out_, &value, 8);
    out_ += 8;
  }
  void PutFixed64(uint64_t value) {
    std::memcpy(out_, &value, 8);
    out_ += 8;
  }
  void PutByte(uint8_t value) { *out_++ = static_cast<char>(value); }
  char* position() const { return out_; }

 private:
  char* out_;
};
inline constexpr size_t kMaxVarintBytes = 10;
inline size_t UpperBoundString(std::string_view text) { return kMaxVarintBytes + text.size(); }

// Reads from a byte range; every Get returns false (and leaves the reader failed) when the input
// is too short or malformed, so decoders check once at the end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : data_(bytes) {}

  bool GetVarint64(uint64_t& value) {
    value = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (data_.empty()) return Fail();
      const auto byte = static_cast<unsigned char>(data_.front());
      data_.remove_prefix(1);
      value |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return Fail();
  }
  bool GetSignedVarint64(int64_t& value) {
    uint64_t raw;
    if (!GetVarint64(raw)) return false;
    value = UnZigZag(raw);
    return true;
  }
  bool GetString(std::string_view& text) {
    uint64_t size;
    if (!GetVarint64(size)) return false;
    if (size > data_.size()) return Fail();
    text = data_.substr(0, size);
    data_.remove_prefix(size);
    return true;
  }
  bool GetString(std::string& text) {
    std::string_view view;
    if (!GetString(view)) return false;
    text.assign(view);
    return true;
  }
  bool GetDouble(double& value) {
    if (data_.size() < 8) return Fail();
    std::memcpy(&value, data_.data(), 8);
    data_.remove_prefix(8);
    return true;
  }
  bool GetFixed64(uint64_t& value) {
    if (data_.size() < 8) return Fail();
    std::memcpy(&value, data_.data(), 8);
    data_.remove_prefix(8);
    return true;
  }
  bool GetByte(uint8_t& value) {
    if (data_.empty()) return Fail();
    value = static_cast<uint8_t>(data_.front());
    data_.remove_prefix(1);
    return true;
  }
  bool ok() const { return ok_; }
  bool empty() const { return data_.empty(); }
  std::string_view remaining() const { return data_; }

 private:
  bool Fail() {
    ok_ = false;
    data_ = {};
    return false;
  }
  std::string_view data_;
  bool ok_ = true;
};

}  // namespace tailor::coding

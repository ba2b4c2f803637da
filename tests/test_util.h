#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "tailor/decimal.h"
#include "tailor/status.h"

namespace tailor::testing {

// The standard output of a shell command ("" when it cannot run): how tests run the Python
// peers.
inline std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  pclose(pipe);
  return out;
}

// An exact amount from a literal that has at most 6 decimals (Money(19.99)).
inline Decimal Money(double value) { return *Decimal::FromDouble(value); }

// A fresh directory under the system temp folder, removed when the test ends.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("tailor-test-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }
  std::string path() const { return path_.string(); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  std::string Write(const std::string& name, const std::string& content) const {
    std::ofstream out(File(name), std::ios::binary);
    out << content;
    return File(name);
  }

 private:
  std::filesystem::path path_;
};

}  // namespace tailor::testing

#define ASSERT_OK(expr)                                            \
  do {                                                             \
    const ::tailor::Status assert_status_ = (expr);                \
    ASSERT_TRUE(assert_status_.ok()) << assert_status_.ToString(); \
  } while (false)

#define EXPECT_OK(expr)                                            \
  do {                                                             \
    const ::tailor::Status expect_status_ = (expr);                \
    EXPECT_TRUE(expect_status_.ok()) << expect_status_.ToString(); \
  } while (false)

#define ASSERT_OK_AND_ASSIGN(lhs, expr)                               \
  auto TAILOR_CONCAT(assign_result_, __LINE__) = (expr);              \
  ASSERT_TRUE(TAILOR_CONCAT(assign_result_, __LINE__).ok())           \
      << TAILOR_CONCAT(assign_result_, __LINE__).status().ToString(); \
  lhs = std::move(TAILOR_CONCAT(assign_result_, __LINE__)).value()

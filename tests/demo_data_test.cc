// The demo data generator keeps its promises: the same arguments give byte-identical files, and
// profile i's rows do not depend on how many profiles follow it.

#include "tailor/demo_data.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "test_util.h"

namespace tailor::demo {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The lines of `text` whose second column (events: profile_id) or first (profiles) is < limit.
std::string RowsOfFirstProfiles(const std::string& text, int column, int limit) {
  std::istringstream in(text);
  std::string line, out;
  std::getline(in, line);  // header
  out += line + "\n";
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string field;
    for (int i = 0; i <= column; ++i) std::getline(fields, field, ',');
    if (field.size() == 8 && field[0] == 'c' && std::stoi(field.substr(1)) <= limit) {
      out += line + "\n";
    }
  }
  return out;
}

TEST(DemoData, SameArgumentsSameBytesAndProfilesIndependentOfTheRest) {
  testing::TempDir dir;
  DemoDataOptions options;
  options.profiles = 300;
  options.items = 40;
  options.out_dir = dir.File("a");
  auto a = WriteDemoData(options);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->profiles, 300u);
  EXPECT_GT(a->events, 300u);
  options.out_dir = dir.File("b");
  ASSERT_TRUE(WriteDemoData(options).ok());
  for (const char* file : {"/profiles.csv", "/events.csv", "/items.csv"}) {
    EXPECT_EQ(Read(dir.File("a") + file), Read(dir.File("b") + file)) << file;
  }
  options.profiles = 120;
  options.out_dir = dir.File("c");
  ASSERT_TRUE(WriteDemoData(options).ok());
  EXPECT_EQ(RowsOfFirstProfiles(Read(dir.File("a") + "/profiles.csv"), 0, 120),
            Read(dir.File("c") + "/profiles.csv"));
  const std::string first_events = RowsOfFirstProfiles(Read(dir.File("a") + "/events.csv"), 1, 120);
  EXPECT_GT(first_events.size(), 1000u);
  EXPECT_EQ(first_events, RowsOfFirstProfiles(Read(dir.File("c") + "/events.csv"), 1, 120));
}

}  // namespace
}  // namespace tailor::demo

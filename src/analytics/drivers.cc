// Drivers of a binary target: each feature source binned (quantiles of a number, the categories
// of a category, a bin of its own for missing), ranked by information value, with the mutual
// information and a plain-language sentence.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tailor/propensity.h"

namespace tailor::analytics {
namespace {

// Siddiqi's (2006) reading of information value, as credit scoring uses it.
const char* StrengthOf(double iv) {
  if (iv < 0.02) return "useless";
  if (iv < 0.1) return "weak";
  if (iv < 0.3) return "medium";
  if (iv < 0.5) return "strong";
  return "very strong";
}

std::string Short(double v) { return fmt::format("{:.4g}", v); }

// Bins of a number: quantile edges of its present values (ties never split), then "missing".
std::vector<DriverBin> NumberBins(const std::string& name, const FeatureMatrix& m, size_t column,
                                  const std::vector<uint8_t>& labels, size_t bin_count) {
  std::vector<double> sorted;
  for (size_t i = 0; i < m.rows; ++i) {
    const double v = m.row(i)[column];
    if (!std::isnan(v)) sorted.push_back(v);
  }
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> edges;  // bin k: edges[k-1] < v <= edges[k]; the last bin is unbounded
  for (size_t b = 1; b < bin_count && !sorted.empty(); ++b) {
    const double edge = sorted[std::min(sorted.size() - 1, b * sorted.size() / bin_count)];
    if (edge < sorted.back() && (edges.empty() || edge > edges.back())) edges.push_back(edge);
  }
  std::vector<DriverBin> bins(edges.size() + 2);
  for (size_t k = 0; k <= edges.size(); ++k) {
    if (edges.empty()) {
      bins[k].label = fmt::format("{} = {}", name, sorted.empty() ? "" : Short(sorted[0]));
    } else if (k == 0) {
      bins[k].label = fmt::format("{} <= {}", name, Short(edges[0]));
    } else if (k == edges.size()) {
      bins[k].label = fmt::format("{} > {}", name, Short(edges[k - 1]));
    } else {
      bins[k].label = fmt::format("{} < {} <= {}", Short(edges[k - 1]), name, Short(edges[k]));
    }
  }
  bins.back().label = name + " missing";
  for (size_t i = 0; i < m.rows; ++i) {
    const double v = m.row(i)[column];
    const size_t k = std::isnan(v)
                         ? bins.size() - 1
                         : std::lower_bound(edges.begin(), edges.end(), v) - edges.begin();
    ++bins[k].rows;
    bins[k].positives += labels[i];
  }
  return bins;
}

std::vector<DriverBin> CategoryBins(const FeatureSource& source, const FeatureMatrix& m,
                                    const std::vector<uint8_t>& labels) {
  std::vector<DriverBin> bins(source.columns.size() + 1);
  for (size_t c = 0; c < source.columns.size(); ++c) {
    bins[c].label = fmt::format("{} = {}", source.name, source.labels[c]);
  }
  bins.back().label = source.name + " missing";
  for (size_t i = 0; i < m.rows; ++i) {
    bool any = false;
    for (size_t c = 0; c < source.columns.size(); ++c) {
      if (m.row(i)[source.columns[c]] != 0) {
        ++bins[c].rows;
        bins[c].positives += labels[i];
        any = true;
      }
    }
    if (!any) {
      ++bins.back().rows;
      bins.back().positives += labels[i];
    }
  }
  return bins;
}

}  // namespace

Result<std::vector<Driver>> RankDrivers(const ModelFeatures& features,
                                        const std::vector<uint8_t>& labels,
                                        const DriverOptions& options) {
  const FeatureMatrix& m = features.matrix;
  if (labels.size() != m.rows)
    return InvalidArgument("{} labels for {} rows", labels.size(), m.rows);
  const uint64_t positives = std::count(labels.begin(), labels.end(), 1);
  const uint64_t negatives = m.rows - positives;
  if (positives == 0 || negatives == 0) {
    return InvalidArgument("the target has one class only ({} of {} positive)", positives, m.rows);
  }
  if (options.bins < 2) return InvalidArgument("drivers need at least 2 bins");
  const double base_rate = static_cast<double>(positives) / m.rows;
  std::vector<Driver> drivers;
  for (const FeatureSource& source : features.sources) {
    Driver d;
    d.feature = source.name;
    d.bins = source.categorical
                 ? CategoryBins(source, m, labels)
                 : NumberBins(source.name, m, source.columns[0], labels, options.bins);
    std::erase_if(d.bins, [](const DriverBin& b) { return b.rows == 0; });
    const DriverBin* best = nullptr;
    for (DriverBin& b : d.bins) {
      // +0.5 in each cell keeps an empty cell's weight of evidence finite.
      const double good = (b.positives + 0.5) / (positives + 0.5 * d.bins.size());
      const double bad = (b.rows - b.positives + 0.5) / (negatives + 0.5 * d.bins.size());
      b.woe = std::log(good / bad);
      d.information_value += (good - bad) * b.woe;
      const double n = m.rows;
      for (int y = 0; y < 2; ++y) {
        const double joint = (y ? b.positives : b.rows - b.positives) / n;
        const double marginal = (y ? positives : negatives) / n;
        if (joint > 0) d.mutual_information += joint * std::log2(joint / (b.rows / n * marginal));
      }
      // The sentence names the most telling bin with at least 1 % of the rows.
      const auto rate = [](const DriverBin& x) { return double(x.positives) / x.rows; };
      if (b.rows * 100 >= m.rows && (best == nullptr || rate(b) > rate(*best))) best = &b;
    }
    d.strength = StrengthOf(d.information_value);
    if (best != nullptr) {
      const double rate = static_cast<double>(best->positives) / best->rows;
      d.description =
          fmt::format("{}: {:.1f} % positive vs {:.1f} % overall ({:.1f}x), {} rows", best->label,
                      100 * rate, 100 * base_rate, rate / base_rate, best->rows);
    }
    drivers.push_back(std::move(d));
  }
  std::stable_sort(drivers.begin(), drivers.end(), [](const Driver& a, const Driver& b) {
    return a.information_value > b.information_value;
  });
  return drivers;
}

void WriteDriverFields(JsonWriter& json, const std::vector<Driver>& drivers, size_t top) {
  json.Key("drivers").BeginArray();
  for (size_t i = 0; i < std::min(top, drivers.size()); ++i) {
    const Driver& d = drivers[i];
    json.BeginObject()
        .Key("feature")
        .String(d.feature)
        .Key("information_value")
        .Double(d.information_value)
        .Key("mutual_information_bits")
        .Double(d.mutual_information)
        .Key("strength")
        .String(d.strength)
        .Key("description")
        .String(d.description)
        .Key("bins")
        .BeginArray();
    for (const DriverBin& b : d.bins) {
      json.BeginObject()
          .Key("bin")
          .String(b.label)
          .Key("rows")
          .Uint(b.rows)
          .Key("positives")
          .Uint(b.positives)
          .Key("woe")
          .Double(b.woe)
          .EndObject();
    }
    json.EndArray().EndObject();
  }
  json.EndArray();
}

}  // namespace tailor::analytics

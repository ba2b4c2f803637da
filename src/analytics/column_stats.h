#pragma once

// Statistics the analytics share: a column's mean and standard deviation (population, as
// scikit-learn's StandardScaler) and the standardized mean difference of two groups.

#include <cmath>
#include <cstddef>

namespace tailor::analytics {

struct ColumnStats {
  double mean = 0, sd = 0;
  double scale() const { return sd > 0 ? sd : 1; }  // what z-scores divide by
};

// Column `j` of `rows` x `columns` values, row-major.
inline ColumnStats StatsOfColumn(const double* values, size_t rows, size_t columns, size_t j) {
  ColumnStats stats;
  if (rows == 0) return stats;
  double sum = 0;
  for (size_t i = 0; i < rows; ++i) sum += values[i * columns + j];
  stats.mean = sum / rows;
  double squares = 0;
  for (size_t i = 0; i < rows; ++i) {
    const double diff = values[i * columns + j] - stats.mean;
    squares += diff * diff;
  }
  stats.sd = std::sqrt(squares / rows);
  return stats;
}

// (mean1 - mean2) / pooled standard deviation, from each group's mean, sample standard deviation
// and size; 0 when it is not defined (fewer than three values, no spread).
inline double StandardizedMeanDifference(double mean1, double sd1, size_t n1, double mean2,
                                         double sd2, size_t n2) {
  if (n1 + n2 <= 2) return 0;
  const double pooled =
      std::sqrt(((n1 - 1.0) * sd1 * sd1 + (n2 - 1.0) * sd2 * sd2) / (n1 + n2 - 2.0));
  return pooled > 0 ? (mean1 - mean2) / pooled : 0;
}

}  // namespace tailor::analytics

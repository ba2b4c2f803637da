#pragma once

// Implicit-feedback matrix factorization's half step (reco.h, Ials), shared by the offline
// generator (double) and the serving model (float): every row refitted against the other side's
// factors by a few conjugate-gradient steps, rows in parallel (each row's solve is independent,
// so the result does not depend on the threads).

#include <tbb/parallel_for.h>

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

namespace tailor::reco {

// Every row r of `rows` (its columns in `of_row`) refitted against `other`: (FᵀF + reg I +
// alpha Σ_i y_i y_iᵀ) x = (1 + alpha) Σ_i y_i, by `steps` CG steps from its current value.
// `Matrix`: an Eigen matrix of either storage order (rows are read: row-major reads faster).
template <typename Matrix>
void IalsHalf(const std::vector<std::vector<uint32_t>>& of_row, const Matrix& other,
              typename Matrix::Scalar reg, typename Matrix::Scalar alpha, size_t steps,
              Matrix& rows) {
  using Scalar = typename Matrix::Scalar;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using Square = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Index f = other.cols();
  Square gram = other.transpose() * other;
  gram.diagonal().array() += reg;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, of_row.size(), 256), [&](const auto& range) {
    Vector x(f), residual(f), direction(f), product(f), target(f);
    for (size_t r = range.begin(); r < range.end(); ++r) {
      const std::vector<uint32_t>& columns = of_row[r];
      // A v = (FᵀF + reg I) v + alpha Σ_i y_i (y_iᵀ v); b = (1 + alpha) Σ_i y_i.
      const auto apply = [&](const Vector& v, Vector& out) {
        out.noalias() = gram * v;
        for (uint32_t i : columns)
          out.noalias() += alpha * other.row(i).dot(v) * other.row(i).transpose();
      };
      target.setZero();
      for (uint32_t i : columns) target += other.row(i).transpose();
      target *= Scalar(1) + alpha;
      x = rows.row(static_cast<Eigen::Index>(r)).transpose();
      apply(x, product);
      residual = target - product;
      direction = residual;
      Scalar norm = residual.squaredNorm();
      for (size_t step = 0; step < steps && norm > Scalar(1e-20); ++step) {
        apply(direction, product);
        const Scalar length = norm / direction.dot(product);
        x += length * direction;
        residual -= length * product;
        const Scalar next = residual.squaredNorm();
        direction = residual + (next / norm) * direction;
        norm = next;
      }
      rows.row(static_cast<Eigen::Index>(r)) = x.transpose();
    }
  });
}

}  // namespace tailor::reco

#pragma once

// Items as factor vectors, and the items with the largest inner product with a query: an exact
// scan for small catalogues, an approximate nearest-neighbour index (HNSW, Debian's hnswlib) for
// large ones, with its recall against the exact scan measurable.

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace tailor::reco {

class ItemIndex {
 public:
  struct Options {
    size_t ann_min_items = 20'000;  // fewer items: the exact scan
    size_t links = 16;              // HNSW's M
    size_t ef_construction = 100;
    size_t ef_search = 40;  // candidates kept while searching (at least k)
  };
  // `vectors`: items × dimensions, row-major. Null when `stop` said so while building.
  static std::unique_ptr<ItemIndex> Build(std::vector<float> vectors, size_t dimensions,
                                          const Options& options,
                                          const std::function<bool()>& stop = {});
  ~ItemIndex();

  bool approximate() const { return hnsw_ != nullptr; }
  size_t dimensions() const { return dimensions_; }
  size_t items() const { return items_; }
  const float* vector(uint32_t item) const { return vectors_.data() + item * dimensions_; }

  // The k items with the largest inner product with `query`, best first: approximate when the
  // index is. Thread-safe.
  std::vector<std::pair<uint32_t, float>> Top(const float* query, size_t k) const;
  // The same by scanning every item (ties by item index).
  std::vector<std::pair<uint32_t, float>> ExactTop(const float* query, size_t k) const;
  // Mean over `queries` of |Top ∩ ExactTop| / k.
  double Recall(const std::vector<std::vector<float>>& queries, size_t k) const;

 private:
  ItemIndex() = default;
  struct Hnsw;
  std::vector<float> vectors_;
  size_t dimensions_ = 0, items_ = 0;
  std::unique_ptr<Hnsw> hnsw_;
};

}  // namespace tailor::reco

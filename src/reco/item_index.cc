#include "reco/item_index.h"

#include <hnswlib/hnswlib.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <atomic>

namespace tailor::reco {

struct ItemIndex::Hnsw {
  explicit Hnsw(size_t dimensions) : space(dimensions) {}
  hnswlib::InnerProductSpace space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
};

ItemIndex::~ItemIndex() = default;

std::unique_ptr<ItemIndex> ItemIndex::Build(std::vector<float> vectors, size_t dimensions,
                                            const Options& options,
                                            const std::function<bool()>& stop) {
  std::unique_ptr<ItemIndex> index(new ItemIndex());
  index->dimensions_ = dimensions;
  index->items_ = dimensions > 0 ? vectors.size() / dimensions : 0;
  index->vectors_ = std::move(vectors);
  if (index->items_ < options.ann_min_items || index->items_ == 0) return index;
  auto hnsw = std::make_unique<Hnsw>(dimensions);
  hnsw->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
      &hnsw->space, index->items_, options.links, options.ef_construction, /*random_seed=*/42);
  hnsw->graph->addPoint(index->vector(0), 0);
  // Insertions in parallel (hnswlib locks what they share); the graph then depends on the
  // threads' order, its answers only slightly.
  std::atomic<bool> stopped{false};
  tbb::parallel_for(tbb::blocked_range<size_t>(1, index->items_, 512), [&](const auto& range) {
    if (stopped.load(std::memory_order_relaxed)) return;
    if (stop && stop()) {
      stopped = true;
      return;
    }
    for (size_t i = range.begin(); i < range.end(); ++i) {
      hnsw->graph->addPoint(index->vector(static_cast<uint32_t>(i)), i);
    }
  });
  if (stopped) return nullptr;
  hnsw->graph->setEf(options.ef_search);
  index->hnsw_ = std::move(hnsw);
  return index;
}

std::vector<std::pair<uint32_t, float>> ItemIndex::Top(const float* query, size_t k) const {
  if (hnsw_ == nullptr) return ExactTop(query, k);
  auto found = hnsw_->graph->searchKnn(query, std::min(k, items_));
  std::vector<std::pair<uint32_t, float>> out;
  out.reserve(found.size());
  for (; !found.empty(); found.pop()) {  // farthest first; distance = 1 - inner product
    out.emplace_back(static_cast<uint32_t>(found.top().second), 1.0f - found.top().first);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::pair<uint32_t, float>> ItemIndex::ExactTop(const float* query, size_t k) const {
  std::vector<std::pair<uint32_t, float>> all(items_);
  for (uint32_t i = 0; i < items_; ++i) {
    const float* v = vector(i);
    float dot = 0;
    for (size_t d = 0; d < dimensions_; ++d) dot += v[d] * query[d];
    all[i] = {i, dot};
  }
  const size_t top = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<ptrdiff_t>(top), all.end(),
                    [](const auto& a, const auto& b) {
                      return a.second != b.second ? a.second > b.second : a.first < b.first;
                    });
  all.resize(top);
  return all;
}

double ItemIndex::Recall(const std::vector<std::vector<float>>& queries, size_t k) const {
  if (queries.empty() || k == 0) return 1.0;
  double sum = 0;
  for (const std::vector<float>& query : queries) {
    std::vector<uint32_t> exact;
    for (const auto& [item, score] : ExactTop(query.data(), k)) exact.push_back(item);
    std::sort(exact.begin(), exact.end());
    size_t hits = 0;
    for (const auto& [item, score] : Top(query.data(), k)) {
      hits += std::binary_search(exact.begin(), exact.end(), item);
    }
    sum += static_cast<double>(hits) / static_cast<double>(std::max<size_t>(exact.size(), 1));
  }
  return sum / static_cast<double>(queries.size());
}

}  // namespace tailor::reco

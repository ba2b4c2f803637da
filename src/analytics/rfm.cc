#include "tailor/rfm.h"

#include <tbb/parallel_for.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <numeric>

namespace tailor::analytics {
namespace {

constexpr std::string_view kSegmentNames[kRfmSegmentCount] = {
    "hibernating",     "at_risk",   "cant_lose_them", "about_to_sleep",      "need_attention",
    "loyal_customers", "promising", "new_customers",  "potential_loyalists", "champions"};

// Profiles are read in chunks of this many ids, each chunk's customers kept apart, then joined
// in id order.
constexpr ProfileId kChunk = 16384;

Status CheckEdges(const std::vector<double>& edges, std::string_view name) {
  if (edges.empty()) return Status::Ok();
  if (edges.size() != 4) {
    return InvalidArgument("{}: 4 edges are needed for scores 1..5, got {}", name, edges.size());
  }
  if (!std::is_sorted(edges.begin(), edges.end()) ||
      std::adjacent_find(edges.begin(), edges.end()) != edges.end()) {
    return InvalidArgument("{}: the edges must be strictly ascending", name);
  }
  return Status::Ok();
}

// The customers of [begin, end): known profiles with a purchase.
// `excluded_types`: sorted codes of the event types whose order ids cancel a purchase.
void ReadChunk(const snapshot::Snapshot& snapshot, const snapshot::EventStringColumn& orders,
               uint32_t purchase, const std::vector<uint32_t>& excluded_types, Timestamp now,
               ProfileId begin, ProfileId end, std::vector<RfmCustomer>& out) {
  const snapshot::EventColumns& events = snapshot.events();
  std::vector<uint32_t> order_codes, excluded_orders;
  for (ProfileId id = begin; id < end; ++id) {
    if (!snapshot.known().Test(id)) continue;
    Timestamp last = 0;
    bool bought = false;
    uint64_t orders_without_id = 0;
    int64_t monetary_micros = 0;
    order_codes.clear();
    excluded_orders.clear();
    if (!excluded_types.empty()) {
      for (uint64_t e = events.offsets[id]; e < events.offsets[id + 1]; ++e) {
        if (orders.codes[e] != snapshot::kNullCode &&
            std::binary_search(excluded_types.begin(), excluded_types.end(), events.type[e])) {
          excluded_orders.push_back(orders.codes[e]);
        }
      }
      std::sort(excluded_orders.begin(), excluded_orders.end());
    }
    for (uint64_t e = events.offsets[id]; e < events.offsets[id + 1]; ++e) {
      if (events.type[e] != purchase) continue;
      if (!excluded_orders.empty() && orders.codes[e] != snapshot::kNullCode &&
          std::binary_search(excluded_orders.begin(), excluded_orders.end(), orders.codes[e])) {
        continue;  // refunded or cancelled
      }
      last = bought ? std::max(last, events.time[e]) : events.time[e];
      bought = true;
      if (orders.codes[e] == snapshot::kNullCode) {
        ++orders_without_id;
      } else {
        order_codes.push_back(orders.codes[e]);
      }
      if (events.value[e] != snapshot::kNoAmount) monetary_micros += events.value[e];
    }
    if (!bought) continue;
    std::sort(order_codes.begin(), order_codes.end());
    const auto distinct = static_cast<uint64_t>(
        std::unique(order_codes.begin(), order_codes.end()) - order_codes.begin());
    RfmCustomer& customer = out.emplace_back();
    customer.id = id;
    customer.recency_ms = now - last;
    customer.frequency = distinct + orders_without_id;
    customer.monetary = Decimal::FromMicros(monetary_micros);
  }
}

// Quintile scores by `key` ascending, ties by external id (its rank), into `score`.
template <typename Key>
void QuintileScores(std::vector<RfmCustomer>& customers, const std::vector<uint32_t>& id_rank,
                    Key key, uint8_t RfmCustomer::*score) {
  const size_t n = customers.size();
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  tbb::parallel_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const auto key_a = key(customers[a]), key_b = key(customers[b]);
    if (key_a != key_b) return key_a < key_b;
    return id_rank[a] < id_rank[b];
  });
  for (size_t k = 0; k < n; ++k) {
    customers[order[k]].*score = static_cast<uint8_t>(1 + (5 * k) / n);
  }
}

// 1 + the number of edges `value` reaches.
uint8_t BinScore(double value, const std::vector<double>& edges) {
  return static_cast<uint8_t>(
      1 + (std::upper_bound(edges.begin(), edges.end(), value) - edges.begin()));
}

}  // namespace

std::string_view RfmSegmentName(RfmSegment segment) {
  return kSegmentNames[static_cast<size_t>(segment)];
}

RfmSegment RfmSegmentOf(int r, int f) {
  if (r <= 2 && f <= 2) return RfmSegment::kHibernating;
  if (r <= 2 && f <= 4) return RfmSegment::kAtRisk;
  if (r <= 2) return RfmSegment::kCantLoseThem;
  if (r == 3 && f <= 2) return RfmSegment::kAboutToSleep;
  if (r == 3 && f == 3) return RfmSegment::kNeedAttention;
  if ((r == 3 || r == 4) && f >= 4) return RfmSegment::kLoyalCustomers;
  if (r == 4 && f == 1) return RfmSegment::kPromising;
  if (r == 5 && f == 1) return RfmSegment::kNewCustomers;
  if (f == 2 || f == 3) return RfmSegment::kPotentialLoyalists;
  return RfmSegment::kChampions;
}

Result<RfmResult> ComputeRfm(const snapshot::Snapshot& snapshot, const RfmOptions& options) {
  if (options.now == 0) return InvalidArgument("RFM needs a reference time");
  TAILOR_RETURN_IF_ERROR(CheckEdges(options.recency_day_edges, "recency edges"));
  TAILOR_RETURN_IF_ERROR(CheckEdges(options.frequency_edges, "frequency edges"));
  TAILOR_RETURN_IF_ERROR(CheckEdges(options.monetary_edges, "monetary edges"));
  const snapshot::EventColumns& events = snapshot.events();
  auto orders = events.extra.find("order_id");
  if (orders == events.extra.end()) {
    return InvalidArgument("RFM needs the order_id event field in the snapshot");
  }
  RfmResult result;
  const uint32_t purchase = events.types.Find(options.purchase_type);
  if (purchase == snapshot::kNullCode) return result;  // nobody bought anything

  std::vector<uint32_t> excluded_types;
  for (const std::string& type : options.exclude_order_types) {
    const uint32_t code = events.types.Find(type);
    if (code != snapshot::kNullCode) excluded_types.push_back(code);  // none happened: none cancel
  }
  std::sort(excluded_types.begin(), excluded_types.end());

  // 1. Per customer, in parallel over chunks of ids.
  const ProfileId count = snapshot.profile_count();
  std::vector<std::vector<RfmCustomer>> chunks((count + kChunk - 1) / kChunk);
  tbb::parallel_for(size_t{0}, chunks.size(), [&](size_t c) {
    const auto begin = static_cast<ProfileId>(c * kChunk);
    ReadChunk(snapshot, orders->second, purchase, excluded_types, options.now, begin,
              std::min<ProfileId>(count, begin + kChunk), chunks[c]);
  });
  std::vector<RfmCustomer>& customers = result.customers;
  size_t total = 0;
  for (const auto& chunk : chunks) total += chunk.size();
  customers.reserve(total);
  for (auto& chunk : chunks) customers.insert(customers.end(), chunk.begin(), chunk.end());
  if (customers.empty()) return result;

  // 2. Scores. Ties are broken by external id: the ids are ranked once, then sorts compare
  // numbers.
  std::vector<uint32_t> id_rank(customers.size());
  {
    std::vector<uint32_t> by_id(customers.size());
    std::iota(by_id.begin(), by_id.end(), 0);
    tbb::parallel_sort(by_id.begin(), by_id.end(), [&](uint32_t a, uint32_t b) {
      return snapshot.external_id(customers[a].id) < snapshot.external_id(customers[b].id);
    });
    for (uint32_t k = 0; k < by_id.size(); ++k) id_rank[by_id[k]] = k;
  }
  if (options.recency_day_edges.empty()) {
    // Recency descending: the longest since the last purchase comes first (score 1).
    QuintileScores(
        customers, id_rank, [](const RfmCustomer& c) { return -c.recency_ms; },
        &RfmCustomer::r_score);
  } else {
    const std::vector<double>& edges = options.recency_day_edges;
    for (RfmCustomer& c : customers) {
      const double days = static_cast<double>(c.recency_ms) / 86'400'000.0;
      c.r_score = static_cast<uint8_t>(
          1 + (edges.end() - std::upper_bound(edges.begin(), edges.end(), days)));
    }
  }
  if (options.frequency_edges.empty()) {
    QuintileScores(
        customers, id_rank, [](const RfmCustomer& c) { return c.frequency; },
        &RfmCustomer::f_score);
  } else {
    for (RfmCustomer& c : customers) {
      c.f_score = BinScore(static_cast<double>(c.frequency), options.frequency_edges);
    }
  }
  if (options.monetary_edges.empty()) {
    QuintileScores(
        customers, id_rank, [](const RfmCustomer& c) { return c.monetary.micros(); },
        &RfmCustomer::m_score);
  } else {
    for (RfmCustomer& c : customers)
      c.m_score = BinScore(c.monetary.ToDouble(), options.monetary_edges);
  }
  for (RfmCustomer& c : customers) {
    c.segment = RfmSegmentOf(c.r_score, c.f_score);
    ++result.score_counts[0][c.r_score - 1];
    ++result.score_counts[1][c.f_score - 1];
    ++result.score_counts[2][c.m_score - 1];
    ++result.segment_counts[static_cast<size_t>(c.segment)];
  }
  return result;
}

}  // namespace tailor::analytics

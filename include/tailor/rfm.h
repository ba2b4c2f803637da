#pragma once

// RFM: recency, frequency and monetary value per customer, scored 1..5, and the widely used
// named map of recency/frequency cells (champions, loyal customers, ..., hibernating).
//
// Definitions (the same as ../shared/bench/peer_pandas_rfm.py and rfm.sql):
//  - a customer is a known profile with at least one purchase event (RfmOptions::purchase_type)
//    that no refund or cancellation (RfmOptions::exclude_order_types) of its order undoes;
//  - recency = reference time - the latest purchase, frequency = distinct order ids of its
//    purchases (a purchase without an order id counts as an order of its own), monetary = the
//    sum of the purchases' values (explicit value, else price x quantity, else price; exact);
//  - quintile scores: customers sorted by (recency descending | frequency ascending | monetary
//    ascending, then external id ascending), 0-based position k of n: score = 1 + floor(5k / n),
//    so 5 is the most recent, most frequent, highest spending; or custom bins (edges).
// Reads a snapshot (the live one on a server); pure, parallel over profiles.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/decimal.h"
#include "tailor/snapshot.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::analytics {

enum class RfmSegment : uint8_t {
  kHibernating,
  kAtRisk,
  kCantLoseThem,
  kAboutToSleep,
  kNeedAttention,
  kLoyalCustomers,
  kPromising,
  kNewCustomers,
  kPotentialLoyalists,
  kChampions,
};
inline constexpr size_t kRfmSegmentCount = 10;
// "hibernating", "at_risk", "cant_lose_them", ... (as the peers spell them).
std::string_view RfmSegmentName(RfmSegment segment);
// The named map on (R, F) scores 1..5, first match wins: R 1-2 & F 1-2 hibernating; R 1-2 & F 3-4
// at_risk; R 1-2 & F 5 cant_lose_them; R 3 & F 1-2 about_to_sleep; R 3 & F 3 need_attention;
// R 3-4 & F 4-5 loyal_customers; R 4 & F 1 promising; R 5 & F 1 new_customers; R 4-5 & F 2-3
// potential_loyalists; R 5 & F 4-5 champions.
RfmSegment RfmSegmentOf(int r_score, int f_score);

struct RfmOptions {
  Timestamp now = 0;  // the reference time (required)
  std::string purchase_type = "purchase";
  // Event types that cancel an order: a purchase whose order id the same profile has in an event
  // of one of these types ("Order Refunded", "Order Cancelled", as Segment's e-commerce spec
  // names them) is left out of recency, frequency and monetary value.
  std::vector<std::string> exclude_order_types;
  // Empty: quintile scores. Else 4 ascending edges: a value's score is 1 + the number of edges
  // it reaches (for recency, in days, 1 + the number of edges it is below: fewer days since the
  // last purchase, a higher score).
  std::vector<double> recency_day_edges, frequency_edges, monetary_edges;
};

struct RfmCustomer {
  ProfileId id = kNoProfile;
  int64_t recency_ms = 0;
  uint64_t frequency = 0;
  Decimal monetary;
  uint8_t r_score = 0, f_score = 0, m_score = 0;
  RfmSegment segment = RfmSegment::kHibernating;
};

struct RfmResult {
  std::vector<RfmCustomer> customers;                     // in dense id order
  std::array<std::array<uint64_t, 5>, 3> score_counts{};  // [r, f, m][score - 1]
  std::array<uint64_t, kRfmSegmentCount> segment_counts{};
};

// RFM of every customer in `snapshot`, which must hold the `order_id` event field.
// kInvalidArgument: no reference time, edges not ascending, or no order_id column.
Result<RfmResult> ComputeRfm(const snapshot::Snapshot& snapshot, const RfmOptions& options);

}  // namespace tailor::analytics

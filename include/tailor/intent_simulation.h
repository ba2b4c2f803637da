#pragma once

// A simulator of labelled sessions for measuring intent classifiers (rules, learned models):
// sessions drawn per intent with realistic noise and overlap. Assumptions, per intent (each
// session 30 minutes or less, events 20-180 s apart):
//  - inspiration: 3-10 events, mostly page views across 2-5 categories; a content page first in
//    40 %; from social (40 %), search (30 %) or direct; a cart add in 10 %;
//  - best_offer: 3-10 events, product views of 2-5 items of one category (a second category in
//    25 %); a price sort in 40 %, a deal page in 25 %, from a price comparison site in 30 %
//    (else search or direct); a cart add in 25 %;
//  - concerns: 3-9 events, one item viewed 2-5 times among few others; a service page (returns,
//    shipping, reviews) in 50 %; a cart add without checkout in 45 %; 20 % from email;
//  - post_purchase: a purchase (after 1-4 views, a cart add and a checkout), then 0-3 views
//    (order tracking, help) in the same session;
// and overlap for every session: an extra page view of another category (25 %), a search
// (30 %), a content page (10 %), a service page (8 %), a price sort (8 %), each independent.
// The learned model and the rules are both scored against these labels (tailor bench intent).

#include <cstdint>
#include <vector>

#include "tailor/intent.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::intent {

struct SimulatedSession {
  Intent label = Intent::kUnknown;
  std::vector<EventInput> events;  // in time order, one profile
  Timestamp end = 0;               // the time to classify at (a minute after the last event)
};

// `count` sessions, the four intents in equal shares, deterministic for the seed.
std::vector<SimulatedSession> SimulateSessions(size_t count, uint64_t seed);

}  // namespace tailor::intent

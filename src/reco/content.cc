// Content-based similarity: the catalogue's facts as tokens, and the generator that scores items
// by how much their tokens resemble those of the items a person touched.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "tailor/reco.h"

namespace tailor::reco {

namespace {

constexpr int kBands = 5;  // numbers as quintiles

// A number's band among `sorted` (the values of its category): the share of values below it.
int Band(const std::vector<double>& sorted, double value) {
  const auto below = std::lower_bound(sorted.begin(), sorted.end(), value) - sorted.begin();
  return 1 +
         static_cast<int>(kBands * static_cast<double>(below) / static_cast<double>(sorted.size()));
}

std::optional<double> NumberOf(const TypedValue& typed) {
  if (typed.type == TraitType::kTimestamp) return std::nullopt;  // a date is no band
  if (const auto* number = std::get_if<int64_t>(&typed.value)) return static_cast<double>(*number);
  if (const auto* number = std::get_if<double>(&typed.value)) return *number;
  return std::nullopt;
}

}  // namespace

ItemTokens TokensOf(const std::vector<const ItemInput*>& items) {
  // The values of each (category, number) first, for the bands.
  std::map<std::pair<std::string_view, std::string_view>, std::vector<double>> values;
  for (const ItemInput* item : items) {
    if (item->price) values[{item->category, "price"}].push_back(item->price->ToDouble());
    for (const auto& [name, typed] : item->attributes) {
      if (const auto number = NumberOf(typed)) values[{item->category, name}].push_back(*number);
    }
  }
  for (auto& [key, list] : values) std::sort(list.begin(), list.end());

  ItemTokens out;
  std::unordered_map<std::string, uint32_t> index;
  const auto token = [&](std::string text) {
    auto [at, added] = index.try_emplace(std::move(text), static_cast<uint32_t>(out.names.size()));
    if (added) out.names.push_back(at->first);
    return at->second;
  };
  out.of_item.resize(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const ItemInput& item = *items[i];
    std::vector<uint32_t>& tokens = out.of_item[i];
    if (!item.category.empty()) tokens.push_back(token("category=" + item.category));
    if (item.price) {
      const auto& sorted = values[{item.category, "price"}];
      tokens.push_back(token(fmt::format("price=q{}", Band(sorted, item.price->ToDouble()))));
    }
    for (const auto& [name, typed] : item.attributes) {
      if (const auto* text = std::get_if<std::string>(&typed.value)) {
        if (!text->empty()) tokens.push_back(token(name + "=" + *text));
      } else if (const auto* list = std::get_if<StringList>(&typed.value)) {
        for (const std::string& value : *list) {
          if (!value.empty()) tokens.push_back(token(name + "=" + value));
        }
      } else if (const auto* flag = std::get_if<bool>(&typed.value)) {
        tokens.push_back(token(name + (*flag ? "=true" : "=false")));
      } else if (const auto number = NumberOf(typed)) {
        const auto& sorted = values[{item.category, name}];
        tokens.push_back(token(fmt::format("{}=q{}", name, Band(sorted, *number))));
      }
    }
    std::sort(tokens.begin(), tokens.end());
    tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  }
  return out;
}

void Content::Fit(const Split& split, size_t items) {
  split_ = &split;
  const std::vector<std::vector<uint32_t>>& tokens = interactions_.item_tokens;
  std::vector<double> df(interactions_.item_token_names.size(), 0.0);
  double catalogue = 0;
  for (size_t j = 0; j < items && j < tokens.size(); ++j) {
    if (!split.in_catalogue[j]) continue;
    catalogue += 1;
    for (uint32_t t : tokens[j]) df[t] += 1;
  }
  vectors_.assign(items, {});
  for (size_t j = 0; j < items && j < tokens.size(); ++j) {
    double norm = 0;
    for (uint32_t t : tokens[j]) {
      const double idf = std::log((1 + catalogue) / (1 + df[t])) + 1;
      vectors_[j].emplace_back(t, idf);
      norm += idf * idf;
    }
    for (auto& [t, weight] : vectors_[j]) weight /= std::sqrt(norm);
  }
  std::vector<double> users(items, 0.0);
  for (const std::vector<uint32_t>& train : split.train) {
    for (uint32_t j : train) users[j] += 1;
  }
  popularity_.resize(items);
  for (size_t j = 0; j < items; ++j) {
    popularity_[j] = std::pow(users[j] + 1, options_.popularity_exponent);
  }
}

void Content::Score(size_t user, const std::vector<uint32_t>& train_items,
                    std::vector<double>& scores) const {
  std::vector<double> profile(interactions_.item_token_names.size(), 0.0);
  const auto add = [&](uint32_t i, double weight) {
    for (const auto& [t, v] : vectors_[i]) profile[t] += weight * v;
  };
  if (options_.position_decay > 0) {
    const std::vector<uint32_t>& ordered = split_->train_by_time[user];
    for (size_t r = 0; r < ordered.size(); ++r) {
      const double from_end = static_cast<double>(ordered.size() - 1 - r);
      add(ordered[r], 0.05 + std::exp(-from_end / options_.position_decay));
    }
  } else {
    for (uint32_t i : train_items) add(i, 1.0);
  }
  double norm = 0;
  for (double x : profile) norm += x * x;
  norm = norm > 0 ? std::sqrt(norm) : 1.0;
  for (size_t j = 0; j < scores.size(); ++j) {
    double dot = 0;
    for (const auto& [t, v] : vectors_[j]) dot += v * profile[t];
    scores[j] = dot / norm * popularity_[j];
  }
}

}  // namespace tailor::reco

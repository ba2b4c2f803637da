// Boosted trees as plain data (TreeEnsemble, tailor/boosted_trees.h): read from XGBoost's JSON
// model or from tailor's own form, scored one row at a time.

#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>
#include <string>

#include "tailor/boosted_trees.h"

namespace tailor::analytics {
namespace {

// One tree's arrays, as both JSON forms hold them (children are indices within the tree).
struct TreeArrays {
  std::vector<int64_t> left, right, feature, default_left;
  std::vector<double> value;
};

Status ReadNumbers(simdjson::dom::element tree, const char* key, const std::string& path,
                   std::vector<int64_t>& out) {
  simdjson::dom::array array;
  if (tree[key].get_array().get(array))
    return InvalidArgument("{}.{}: expected an array", path, key);
  for (simdjson::dom::element v : array) {
    int64_t n = 0;
    bool flag = false;
    if (!v.get_int64().get(n)) {
      out.push_back(n);
    } else if (!v.get_bool().get(flag)) {  // newer XGBoost writes default_left as booleans
      out.push_back(flag ? 1 : 0);
    } else {
      return InvalidArgument("{}.{}: expected integers", path, key);
    }
  }
  return Status::Ok();
}

Status ReadNumbers(simdjson::dom::element tree, const char* key, const std::string& path,
                   std::vector<double>& out) {
  simdjson::dom::array array;
  if (tree[key].get_array().get(array))
    return InvalidArgument("{}.{}: expected an array", path, key);
  for (simdjson::dom::element v : array) {
    double x = 0;
    if (v.get_double().get(x)) return InvalidArgument("{}.{}: expected numbers", path, key);
    out.push_back(x);
  }
  return Status::Ok();
}

}  // namespace

// Builds the ensemble, checking that each tree is one: children in range, every node reached
// once from the root (so scoring always ends at a leaf), features below `columns`.
class TreeEnsembleBuilder {
 public:
  static Status AddTree(TreeEnsemble& ensemble, const TreeArrays& tree, const std::string& path) {
    const size_t n = tree.left.size();
    if (n == 0 || tree.right.size() != n || tree.feature.size() != n || tree.value.size() != n ||
        tree.default_left.size() != n) {
      return InvalidArgument(
          "{}: a tree needs as many children, features, values and defaults "
          "as nodes (at least one)",
          path);
    }
    const size_t base = ensemble.nodes_.size();
    std::vector<uint8_t> reached(n, 0);
    std::vector<size_t> pending = {0};
    reached[0] = 1;
    while (!pending.empty()) {
      const size_t i = pending.back();
      pending.pop_back();
      const bool leaf = tree.left[i] == -1;
      if (leaf != (tree.right[i] == -1)) {
        return InvalidArgument("{}: node {} has one child", path, i);
      }
      if (leaf) continue;
      if (tree.feature[i] < 0 || static_cast<size_t>(tree.feature[i]) >= ensemble.columns_) {
        return InvalidArgument("{}: node {} splits on feature {} of {}", path, i, tree.feature[i],
                               ensemble.columns_);
      }
      for (int64_t child : {tree.left[i], tree.right[i]}) {
        if (child < 0 || static_cast<size_t>(child) >= n || reached[child]) {
          return InvalidArgument("{}: node {} has child {}, not a node of its own", path, i, child);
        }
        reached[child] = 1;
        pending.push_back(static_cast<size_t>(child));
      }
    }
    // Breadth first, each node's children side by side (right = left + 1), so that scoring
    // steps to a child by arithmetic rather than a branch; nodes not in the tree are dropped.
    std::vector<size_t> order = {0};  // the tree's nodes, by their new place
    std::vector<size_t> left_place(n, 0);
    for (size_t k = 0; k < order.size(); ++k) {
      const size_t i = order[k];
      if (tree.left[i] == -1) continue;
      left_place[k] = order.size();
      order.push_back(static_cast<size_t>(tree.left[i]));
      order.push_back(static_cast<size_t>(tree.right[i]));
    }
    for (size_t k = 0; k < order.size(); ++k) {
      const size_t i = order[k];
      TreeEnsemble::Node node;
      const bool leaf = tree.left[i] == -1;
      node.left = leaf ? -1 : static_cast<int32_t>(base + left_place[k]);
      node.right = leaf ? -1 : node.left + 1;
      node.feature = leaf ? 0 : static_cast<uint32_t>(tree.feature[i]);
      node.value = static_cast<float>(tree.value[i]);
      node.default_left = tree.default_left[i] != 0;
      ensemble.nodes_.push_back(node);
    }
    ensemble.roots_.push_back(static_cast<uint32_t>(base));
    return Status::Ok();
  }
  // The names each JSON form gives the arrays of a tree.
  struct ArrayNames {
    const char *left, *right, *feature, *value, *default_left;
  };
  static Status AddTrees(TreeEnsemble& ensemble, simdjson::dom::array trees,
                         const ArrayNames& names, fmt::format_string<size_t> path_format) {
    size_t index = 0;
    for (simdjson::dom::element tree : trees) {
      const std::string path = fmt::format(path_format, index++);
      TreeArrays arrays;
      TAILOR_RETURN_IF_ERROR(ReadNumbers(tree, names.left, path, arrays.left));
      TAILOR_RETURN_IF_ERROR(ReadNumbers(tree, names.right, path, arrays.right));
      TAILOR_RETURN_IF_ERROR(ReadNumbers(tree, names.feature, path, arrays.feature));
      TAILOR_RETURN_IF_ERROR(ReadNumbers(tree, names.value, path, arrays.value));
      TAILOR_RETURN_IF_ERROR(ReadNumbers(tree, names.default_left, path, arrays.default_left));
      TAILOR_RETURN_IF_ERROR(AddTree(ensemble, arrays, path));
    }
    return Status::Ok();
  }
  static void SetShape(TreeEnsemble& ensemble, size_t columns, double base_margin) {
    ensemble.columns_ = columns;
    ensemble.base_margin_ = base_margin;
  }
};

double TreeEnsemble::Predict(const double* row) const {
  // The row in single precision once (as XGBoost compares it), on the stack when small.
  constexpr size_t kOnStack = 128;
  float stack[kOnStack];
  std::vector<float> heap;
  float* x = stack;
  if (columns_ > kOnStack) {
    heap.resize(columns_);
    x = heap.data();
  }
  for (size_t j = 0; j < columns_; ++j) x[j] = static_cast<float>(row[j]);
  bool missing = false;
  for (size_t j = 0; j < columns_; ++j) missing |= std::isnan(x[j]);
  // XGBoost adds each tree's leaf in single precision, in tree order.
  float sum = 0;
  const Node* nodes = nodes_.data();
  if (!missing) {
    // The common case, without a branch per node (right = left + 1): a set flag, not a jump.
    for (uint32_t root : roots_) {
      const Node* node = nodes + root;
      while (node->left >= 0) {
        node = nodes + node->left + static_cast<int>(!(x[node->feature] < node->value));
      }
      sum += node->value;
    }
  } else {
    for (uint32_t root : roots_) {
      const Node* node = nodes + root;
      while (node->left >= 0) {
        const float v = x[node->feature];
        // A missing value (NaN) goes the split's default way.
        const bool left = std::isnan(v) ? node->default_left : v < node->value;
        node = nodes + node->left + !left;
      }
      sum += node->value;
    }
  }
  const double margin = base_margin_ + sum;
  return 1 / (1 + std::exp(-margin));
}

void TreeEnsemble::WriteJson(JsonWriter& json) const {
  json.BeginObject()
      .Key("columns")
      .Uint(columns_)
      .Key("base_margin")
      .Double(base_margin_)
      .Key("trees")
      .BeginArray();
  for (size_t t = 0; t < roots_.size(); ++t) {
    const size_t begin = roots_[t];
    const size_t end = t + 1 < roots_.size() ? roots_[t + 1] : nodes_.size();
    const auto field = [&](const char* key, auto get) {
      json.Key(key).BeginArray();
      for (size_t i = begin; i < end; ++i) get(nodes_[i]);
      json.EndArray();
    };
    const auto local = [&](int32_t child) {
      return child < 0 ? -1 : int64_t(child) - int64_t(begin);
    };
    json.BeginObject();
    field("left", [&](const Node& n) { json.Int(local(n.left)); });
    field("right", [&](const Node& n) { json.Int(local(n.right)); });
    field("feature", [&](const Node& n) { json.Uint(n.feature); });
    field("value", [&](const Node& n) { json.Double(n.value); });
    field("default_left", [&](const Node& n) { json.Int(n.default_left ? 1 : 0); });
    json.EndObject();
  }
  json.EndArray().EndObject();
}

Result<TreeEnsemble> TreeEnsemble::ParseJson(std::string_view text, size_t columns) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root)) return InvalidArgument("trees: not JSON");
  uint64_t stored_columns = 0;
  if (root["columns"].get_uint64().get(stored_columns) || stored_columns != columns) {
    return InvalidArgument("trees.columns: expected {}", columns);
  }
  double base_margin = 0;
  if (root["base_margin"].get_double().get(base_margin)) {
    return InvalidArgument("trees.base_margin: expected a number");
  }
  TreeEnsemble ensemble;
  TreeEnsembleBuilder::SetShape(ensemble, columns, base_margin);
  simdjson::dom::array trees;
  if (root["trees"].get_array().get(trees))
    return InvalidArgument("trees.trees: expected an array");
  TAILOR_RETURN_IF_ERROR(TreeEnsembleBuilder::AddTrees(
      ensemble, trees, {"left", "right", "feature", "value", "default_left"}, "trees.trees[{}]"));
  return ensemble;
}

Result<TreeEnsemble> TreeEnsemble::FromXgboostJson(std::string_view text, size_t columns) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root)) {
    return InvalidArgument("xgboost model: not JSON");
  }
  std::string_view objective, booster, base_score;
  if (root["learner"]["objective"]["name"].get_string().get(objective) ||
      objective != "binary:logistic") {
    return InvalidArgument("xgboost model: expected the binary:logistic objective");
  }
  if (root["learner"]["gradient_booster"]["name"].get_string().get(booster) ||
      booster != "gbtree") {
    return InvalidArgument("xgboost model: expected a gbtree booster");
  }
  // The base score is a probability, written as a string ("5E-1").
  if (root["learner"]["learner_model_param"]["base_score"].get_string().get(base_score)) {
    return InvalidArgument("xgboost model: no base_score");
  }
  const double p = std::strtod(std::string(base_score).c_str(), nullptr);
  if (!(p > 0 && p < 1)) return InvalidArgument("xgboost model: base_score {} not in (0, 1)", p);
  TreeEnsemble ensemble;
  // + 0.0: a base score of 0.5 gives -0, which JSON would not bring back the same.
  TreeEnsembleBuilder::SetShape(ensemble, columns, -std::log(1 / p - 1) + 0.0);
  simdjson::dom::array trees;
  if (root["learner"]["gradient_booster"]["model"]["trees"].get_array().get(trees)) {
    return InvalidArgument("xgboost model: no trees");
  }
  TAILOR_RETURN_IF_ERROR(TreeEnsembleBuilder::AddTrees(
      ensemble, trees,
      {"left_children", "right_children", "split_indices", "split_conditions", "default_left"},
      "xgboost model tree {}"));
  return ensemble;
}

}  // namespace tailor::analytics

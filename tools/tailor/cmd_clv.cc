// `tailor clv`: customer lifetime value (BG/NBD and Gamma-Gamma, include/tailor/clv.h) of every
// customer, or (--simulate) the recovery check on simulated CDNOW-like customers.

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "commands.h"
#include "progress.h"
#include "tailor/clv.h"
#include "tailor/json_writer.h"
#include "tailor/service.h"

namespace tailor::cli {
namespace {

struct ClvArgs {
  std::string now, purchase_type = "purchase", out;
  std::vector<std::string> exclude_order_types;
  double horizon_days = 365;
  bool apply = false;
  size_t simulate = 0;
  std::string summaries_out;
  uint64_t seed = 1;
};

Status WriteCustomers(const std::string& path, const snapshot::Snapshot* snapshot,
                      const analytics::ClvResult& clv) {
  std::ofstream out(path);
  if (!out) return IoError("cannot write '{}'", path);
  out << "profile_id,frequency,recency_days,age_days,monetary,probability_alive,"
         "expected_purchases,expected_order_value,expected_value\n";
  for (const analytics::ClvCustomer& c : clv.customers) {
    out << fmt::format(
        "{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{},{}\n",
        snapshot != nullptr ? snapshot->external_id(c.id) : "", c.summary.frequency,
        c.summary.recency, c.summary.age, c.summary.monetary, c.probability_alive,
        c.expected_purchases,
        std::isfinite(c.expected_order_value) ? fmt::format("{:.4f}", c.expected_order_value) : "",
        std::isfinite(c.expected_value) ? fmt::format("{:.4f}", c.expected_value) : "");
  }
  out.close();
  if (!out) return IoError("writing '{}' failed", path);
  return Status::Ok();
}

void PrintFit(const analytics::ClvResult& clv) {
  const analytics::BgNbdFit& bg = clv.purchases;
  std::printf("%zu customers; BG/NBD (time in days)%s, log-likelihood %.6f\n", clv.customers.size(),
              bg.converged ? "" : " NOT CONVERGED", bg.log_likelihood);
  std::printf("  r %.6g (SE %.3g)  alpha %.6g (SE %.3g)  a %.6g (SE %.3g)  b %.6g (SE %.3g)\n",
              bg.params.r, bg.standard_errors.r, bg.params.alpha, bg.standard_errors.alpha,
              bg.params.a, bg.standard_errors.a, bg.params.b, bg.standard_errors.b);
  if (clv.spend_fitted) {
    const analytics::GammaGammaFit& gg = clv.spend;
    std::printf("Gamma-Gamma on %zu repeat purchasers%s, log-likelihood %.6f\n", gg.customers,
                gg.converged ? "" : " NOT CONVERGED", gg.log_likelihood);
    std::printf("  p %.6g (SE %.3g)  q %.6g (SE %.3g)  gamma %.6g (SE %.3g)\n", gg.params.p,
                gg.standard_errors.p, gg.params.q, gg.standard_errors.q, gg.params.gamma,
                gg.standard_errors.gamma);
  } else {
    std::printf("spend not fitted: %s\n", clv.spend_problem.c_str());
  }
  double purchases = 0, value = 0, alive = 0;
  for (const analytics::ClvCustomer& c : clv.customers) {
    purchases += c.expected_purchases;
    alive += c.probability_alive;
    if (std::isfinite(c.expected_value)) value += c.expected_value;
  }
  std::printf("next %.0f days: %.1f purchases expected", clv.horizon_days, purchases);
  if (clv.spend_fitted) std::printf(", value %.2f", value);
  std::printf("; %.1f customers alive (expected)\n", alive);
}

// The recovery check of the issue: simulate, fit in weeks, compare with the truth, and the
// holdout purchases per calibration frequency (the paper's conditional-expectation figure).
int RunSimulation(const GlobalOptions& global, const ClvArgs& args) {
  analytics::ClvSimulationOptions options;
  options.customers = args.simulate;
  options.seed = args.seed;
  auto simulated = analytics::SimulateClv(options);
  if (!simulated.ok()) return ReportError(global, simulated.status());
  if (!args.summaries_out.empty()) {  // the scipy peer's input (bench/peer_clv_scipy.py)
    std::ofstream out(args.summaries_out);
    out << "frequency,recency,age,monetary\n";
    for (const analytics::ClvSummary& c : simulated->calibration) {
      out << fmt::format("{},{:.17g},{:.17g},{:.17g}\n", c.frequency, c.recency, c.age, c.monetary);
    }
    if (!out) return ReportError(global, IoError("writing '{}' failed", args.summaries_out));
  }
  // Only the fits are timed (what the peer does on the same summaries).
  const auto started = std::chrono::steady_clock::now();
  auto bg = analytics::FitBgNbd(simulated->calibration);
  if (!bg.ok()) return ReportError(global, bg.status());
  auto gg = analytics::FitGammaGamma(simulated->calibration);
  if (!gg.ok()) return ReportError(global, gg.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  struct Row {
    const char* name;
    double truth, estimate, se;
  };
  const Row rows[] = {
      {"r", options.purchases.r, bg->params.r, bg->standard_errors.r},
      {"alpha", options.purchases.alpha, bg->params.alpha, bg->standard_errors.alpha},
      {"a", options.purchases.a, bg->params.a, bg->standard_errors.a},
      {"b", options.purchases.b, bg->params.b, bg->standard_errors.b},
      {"p", options.spend.p, gg->params.p, gg->standard_errors.p},
      {"q", options.spend.q, gg->params.q, gg->standard_errors.q},
      {"gamma", options.spend.gamma, gg->params.gamma, gg->standard_errors.gamma}};
  // Holdout purchases per calibration frequency 0..6, 7+.
  double simulated_sum[8] = {}, expected_sum[8] = {};
  size_t count[8] = {};
  for (size_t i = 0; i < simulated->calibration.size(); ++i) {
    const analytics::ClvSummary& s = simulated->calibration[i];
    const size_t bucket = std::min<size_t>(7, static_cast<size_t>(s.frequency));
    auto expected = analytics::ExpectedPurchases(bg->params, s, options.holdout_weeks);
    if (!expected.ok()) return ReportError(global, expected.status());
    ++count[bucket];
    simulated_sum[bucket] += simulated->holdout_purchases[i];
    expected_sum[bucket] += *expected;
  }
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("customers")
        .Uint(options.customers)
        .Key("fit_seconds")
        .Double(seconds)
        .Key("bgnbd_log_likelihood")
        .Double(bg->log_likelihood)
        .Key("gamma_gamma_log_likelihood")
        .Double(gg->log_likelihood);
    json.Key("parameters").BeginArray();
    for (const Row& r : rows) {
      json.BeginObject()
          .Key("name")
          .String(r.name)
          .Key("truth")
          .Double(r.truth)
          .Key("estimate")
          .Double(r.estimate)
          .Key("standard_error")
          .Double(r.se)
          .EndObject();
    }
    json.EndArray().Key("holdout_by_frequency").BeginArray();
    for (size_t b = 0; b < 8; ++b) {
      json.BeginObject()
          .Key("frequency")
          .String(b < 7 ? std::to_string(b) : "7+")
          .Key("customers")
          .Uint(count[b])
          .Key("simulated")
          .Double(count[b] ? simulated_sum[b] / count[b] : 0)
          .Key("expected")
          .Double(count[b] ? expected_sum[b] / count[b] : 0)
          .EndObject();
    }
    json.EndArray().EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf(
      "%zu simulated customers (CDNOW parameters, 12-week cohort, 39 + 39 weeks), "
      "fitted in %.2f s\n",
      options.customers, seconds);
  std::printf("param      truth    estimate        SE     z   rel. error\n");
  for (const Row& r : rows) {
    std::printf("%-6s %9.4f %11.5f %9.5f %+5.2f %+8.2f %%\n", r.name, r.truth, r.estimate, r.se,
                (r.estimate - r.truth) / r.se, 100 * (r.estimate - r.truth) / r.truth);
  }
  std::printf(
      "holdout purchases per calibration frequency (39 weeks):\n x   customers  simulated  "
      "expected\n");
  for (size_t b = 0; b < 8; ++b) {
    if (count[b] == 0) continue;
    std::printf(" %-3s %9zu  %9.4f  %8.4f\n", b < 7 ? std::to_string(b).c_str() : "7+", count[b],
                simulated_sum[b] / count[b], expected_sum[b] / count[b]);
  }
  return 0;
}

int RunClv(const GlobalOptions& global, const ClvArgs& args) {
  if (args.simulate > 0) return RunSimulation(global, args);
  auto now = ParseNow(args.now);
  if (!now.ok()) return ReportError(global, now.status());
  analytics::ClvOptions options;
  options.now = *now;
  options.purchase_type = args.purchase_type;
  options.exclude_order_types = args.exclude_order_types;
  options.horizon_days = args.horizon_days;
  ProgressBar bar("clv");
  const RunControl control = InterruptibleRun(bar);
  options.control = &control;
  Result<analytics::ClvResult> clv = Internal("not run");
  std::shared_ptr<const snapshot::Snapshot> snapshot;
  uint64_t written = 0;
  if (args.apply) {
    ServiceOptions service_options;
    service_options.engine.store.create_if_missing = false;
    auto service = Service::Open(global.data_dir, std::move(service_options));
    if (!service.ok()) return ReportError(global, service.status());
    auto run = (*service)->RunClv(options, /*materialize=*/true);
    bar.Finish();
    if (!run.ok()) return ReportError(global, run.status());
    written = run->profiles_written;
    clv = std::move(run->clv);
  } else {
    auto engine = OpenEngine(global, /*create_if_missing=*/false);
    if (!engine) return 1;
    snapshot::SnapshotOptions snapshot_options;
    snapshot_options.event_fields = {"order_id"};
    auto built = engine->BuildSnapshot(snapshot_options);
    if (!built.ok()) return ReportError(global, built.status());
    snapshot = std::move(built).value();
    clv = analytics::ComputeClv(*snapshot, options);
    bar.Finish();
    if (!clv.ok()) return ReportError(global, clv.status());
    if (!args.out.empty()) {
      Status s = WriteCustomers(args.out, snapshot.get(), *clv);
      if (!s.ok()) return ReportError(global, s);
    }
  }
  if (global.json) {
    JsonWriter json;
    json.BeginObject();
    analytics::WriteClvFields(json, *clv);
    json.Key("profiles_written").Uint(written).EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  PrintFit(*clv);
  if (args.apply) {
    std::printf("clv_* traits written to %llu profiles\n",
                static_cast<unsigned long long>(written));
  }
  return 0;
}

}  // namespace

void RegisterClv(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<ClvArgs>();
  CLI::App* clv = app.add_subcommand(
      "clv", "lifetime value per customer (BG/NBD purchases, Gamma-Gamma spend)");
  clv->add_option("--now", args->now, "end of the calibration period (default: now)");
  clv->add_option("--purchase-type", args->purchase_type, "the event type of a purchase")
      ->capture_default_str();
  clv->add_option("--exclude-orders-with", args->exclude_order_types,
                  "an event type that cancels its order (e.g. \"Order Refunded\"; repeatable)");
  clv->add_option("--horizon-days", args->horizon_days, "expected purchases and value over it")
      ->capture_default_str();
  clv->add_option("--out", args->out, "write one CSV row per customer to this file");
  clv->add_flag("--apply", args->apply,
                "write the clv_* traits to the store (through the write path: rules see them)");
  clv->add_option("--simulate", args->simulate,
                  "N: instead, simulate N CDNOW-like customers and check the fit recovers the "
                  "parameters (and the holdout purchases per frequency)");
  clv->add_option("--seed", args->seed, "the simulation's seed")->capture_default_str();
  clv->add_option("--summaries-out", args->summaries_out,
                  "with --simulate: write the calibration summaries (the scipy peer's input)");
  clv->callback([&, args] { exit_code = RunClv(global, *args); });
}

}  // namespace tailor::cli

// The outcome library (sim/experiment/outcomes.cpp) against the same quantities computed
// independently from a run's HDF5 file (series, event log, snapshot), written by the RunWriter
// observing the same run.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "sim/experiment/outcomes.hpp"
#include "sim/io/output.hpp"
#include "tests/support/helpers.hpp"

using namespace ts::exp;
using ts::test::TempDir;

namespace {

std::vector<OutcomeSpec> outcomes_of(const std::string& yaml) {
  ts::cfg::Diagnostics d;
  auto s = parse_experiment_text("base: x.yaml\n" + yaml, "test.yaml", {}, d);
  INFO(d.format());
  REQUIRE(s);
  return s->outcomes;
}

ts::model::Params small(const std::vector<std::string>& sets) {
  ts::cfg::Diagnostics d;
  auto sc = ts::cfg::load_scenario(ts::test::source_dir() + "/tests/data/scenarios/small.yaml", sets, d);
  INFO(d.format());
  REQUIRE(sc);
  return sc->params;
}

}  // namespace

TEST_CASE("outcomes: each metric equals the same quantity computed from the run file") {
  const auto outs = outcomes_of(R"Y(outcomes:
  us_top_share: {metric: share, location: US, tier: [top, elite]}
  cn_share_us: {metric: share, origin: CN, location: US, of: {location: US}}
  us_cn_top_stock_mean: {metric: stock, location: US, origin: CN, tier: top, window: [-6, -1]}
  net_us_cn_top: {metric: net_flow, from: US, to: CN, tier: [top, elite]}
  net_us_cn_all_log: {metric: net_flow, from: US, to: CN, tier: [regular, top, elite]}
  net_us_cn_flows: {metric: net_flow, from: US, to: CN}
  to_us_cn_origin: {metric: flow, to: US, origin: CN}
  us_top_pay: {metric: pay_percentile, location: US, tier: [top, elite], percentile: 50}
  us_top_pay_p90: {metric: pay_percentile, location: US, tier: [top, elite], percentile: 90}
  meta_elite: {metric: firm_count, firm: Meta, tier: elite}
  meta_head: {metric: firm_count, firm: Meta}
  meta_top: {metric: firm_count, firm: Meta, tier: [top, elite]}
  cn_startups: {metric: firm_count, firm: CN AI company}
  hc_ratio: {metric: output_ratio, numerator: US, denominator: CN, highly_cited: true}
  hc_ratio_first_half: {metric: output_ratio, numerator: US, denominator: CN, highly_cited: true, window: [0, 11]}
  output_cn_origin: {metric: output, by: origin, region: CN}
  cn_approvals: {metric: visa, stat: approvals, origin: CN}
  j2j: {metric: market, stat: job_to_job_moves}
  employed: {metric: market, stat: employed, at: 5}
)Y");
  const auto p = small({"output.event_log=all", "output.snapshots=[23]"});
  REQUIRE(p.run.steps == 24);
  TempDir dir;
  const std::string file = dir / "run.h5";
  std::vector<double> v;
  {
    ts::model::Simulation sim(p);
    OutcomeRecorder rec(sim, outs);
    ts::cfg::Scenario sc;
    sc.path = "small.yaml";
    sc.params = p;
    ts::io::RunWriter w(file, sc, sim, ts::io::RunInfo{1, "test", false, false});
    Observers obs;
    obs.add(&rec);
    obs.add(&w);
    sim.set_observer(&obs);
    while (sim.t() < p.run.steps) sim.step();
    w.finish(sim, "complete");
    v = rec.values();
  }
  auto f = ts::h5::File::open_read(file);
  auto root = f.root();
  const auto regions = root.open_group("dims").read_strings("regions");
  const auto R = regions.size();
  auto reg = [&](const std::string& n) { return std::size_t(std::find(regions.begin(), regions.end(), n) - regions.begin()); };
  const std::size_t US = reg("US"), CN = reg("CN"), T = 24;
  auto s = root.open_group("series");
  const auto stocks = s.read<double>("stocks");  // [step][loc][origin][tier]
  auto stock = [&](std::size_t t, std::size_t l, std::size_t o, std::size_t k) { return stocks[((t * R + l) * R + o) * 3 + k]; };
  auto i = [&](const char* name) {
    for (std::size_t k = 0; k < outs.size(); ++k)
      if (outs[k].name == name) return k;
    FAIL("no outcome " << name);
    return std::size_t(0);
  };
  // shares and stocks at the last step, or averaged over the last six
  {
    double top_us = 0, top = 0, cn_us = 0, us = 0;
    for (std::size_t l = 0; l < R; ++l)
      for (std::size_t o = 0; o < R; ++o)
        for (std::size_t k = 0; k < 3; ++k) {
          const double n = stock(T - 1, l, o, k);
          if (k > 0) top += n, top_us += l == US ? n : 0;
          if (l == US) us += n, cn_us += o == CN ? n : 0;
        }
    CHECK(v[i("us_top_share")] == doctest::Approx(top_us / top));
    CHECK(v[i("cn_share_us")] == doctest::Approx(cn_us / us));
    double m = 0;
    for (std::size_t t = T - 6; t < T; ++t) m += stock(t, US, CN, 1) / 6;
    CHECK(v[i("us_cn_top_stock_mean")] == doctest::Approx(m));
  }
  // flows: from the event log (hire, move, relocation, forced departure) and from /series/flows
  {
    auto ev = root.open_group("events");
    const auto kind = ev.read<int>("kind"), from = ev.read<int>("from_region"), to = ev.read<int>("to_region");
    const auto tier = ev.read<int>("tier"), origin = ev.read<int>("origin");
    const auto kinds = root.open_group("dims").read_strings("event_kinds");
    auto kind_id = [&](const char* n) { return int(std::find(kinds.begin(), kinds.end(), n) - kinds.begin()); };
    const std::set<int> moves{kind_id("hire"), kind_id("move"), kind_id("relocation"), kind_id("forced_departure")};
    double top_net = 0, all_net = 0, to_us_cn = 0;
    for (std::size_t e = 0; e < kind.size(); ++e) {
      if (!moves.count(kind[e]) || from[e] == to[e]) continue;
      const double dir = from[e] == int(US) && to[e] == int(CN) ? 1 : from[e] == int(CN) && to[e] == int(US) ? -1 : 0;
      all_net += dir;
      if (tier[e] > 0) top_net += dir;
      if (to[e] == int(US) && origin[e] == int(CN)) to_us_cn += 1;
    }
    const auto flows = s.read<double>("flows");
    double flow_net = 0;
    for (std::size_t t = 0; t < T; ++t) flow_net += flows[(t * R + US) * R + CN] - flows[(t * R + CN) * R + US];
    CHECK(v[i("net_us_cn_top")] == top_net);
    CHECK(v[i("net_us_cn_all_log")] == all_net);
    CHECK(v[i("net_us_cn_flows")] == flow_net);
    CHECK(all_net == flow_net);  // the four kinds add up to the flows
    CHECK(v[i("to_us_cn_origin")] == to_us_cn);
    CHECK(flow_net != 0);  // the check has something to compare
  }
  // pay percentiles: the employed top + elite working in the US in the last step's snapshot
  {
    auto snap = root.open_group("snapshots/step_000023");
    const auto tier = snap.read<int>("tier"), loc = snap.read<int>("location"), employer = snap.read<int>("employer");
    const auto comp = snap.read<double>("comp");
    std::vector<double> pay;
    for (std::size_t r = 0; r < tier.size(); ++r)
      if (tier[r] > 0 && loc[r] == int(US) && employer[r] >= 0) pay.push_back(comp[r]);
    std::sort(pay.begin(), pay.end());
    REQUIRE(pay.size() > 10);
    auto pct = [&](double q) {  // numpy's default (linear) percentile
      const double h = (double(pay.size()) - 1) * q;
      const auto lo = std::size_t(h);
      return pay[lo] + (h - double(lo)) * (pay[std::min(lo + 1, pay.size() - 1)] - pay[lo]);
    };
    CHECK(v[i("us_top_pay")] == doctest::Approx(pct(0.5)).epsilon(1e-12));
    CHECK(v[i("us_top_pay_p90")] == doctest::Approx(pct(0.9)).epsilon(1e-12));
    // firms' counts: the books (firm_elite, firm_headcount) and the snapshot agree
    const auto names = root.open_group("firms").read_strings("name");
    const auto meta = int(std::find(names.begin(), names.end(), "Meta") - names.begin());
    const auto elite = s.read<double>("firm_elite"), head = s.read<double>("firm_headcount");
    const std::size_t F = names.size();
    CHECK(v[i("meta_elite")] == elite[(T - 1) * F + std::size_t(meta)]);
    CHECK(v[i("meta_head")] == head[(T - 1) * F + std::size_t(meta)]);
    double meta_top = 0;
    for (std::size_t r = 0; r < tier.size(); ++r) meta_top += employer[r] == meta && tier[r] > 0;
    CHECK(v[i("meta_top")] == meta_top);
    double group = 0;
    for (std::size_t g = 0; g < F; ++g)
      if (names[g].rfind("CN AI company#", 0) == 0) group += head[(T - 1) * F + g];
    CHECK(v[i("cn_startups")] == group);
    CHECK(group > 0);
  }
  // output ratios and sums over windows, visa and market counts
  {
    const auto hc = s.read<double>("hc_output_by_region"), out_origin = s.read<double>("output_by_origin");
    double us = 0, cn = 0, us1 = 0, cn1 = 0, cno = 0;
    for (std::size_t t = 0; t < T; ++t) {
      us += hc[t * R + US], cn += hc[t * R + CN], cno += out_origin[t * R + CN];
      if (t < 12) us1 += hc[t * R + US], cn1 += hc[t * R + CN];
    }
    CHECK(v[i("hc_ratio")] == doctest::Approx(us / cn));
    CHECK(v[i("hc_ratio_first_half")] == doctest::Approx(us1 / cn1));
    CHECK(v[i("output_cn_origin")] == doctest::Approx(cno));
    const auto visa = s.read<double>("visa"), market = s.read<double>("market");
    const auto vs = root.open_group("dims").read_strings("visa_stats"), ms = root.open_group("dims").read_strings("market_stats");
    const std::size_t NV = vs.size(), NM = ms.size();
    const auto approvals = std::size_t(std::find(vs.begin(), vs.end(), "approvals") - vs.begin());
    const auto j2j = std::size_t(std::find(ms.begin(), ms.end(), "job_to_job_moves") - ms.begin());
    const auto employed = std::size_t(std::find(ms.begin(), ms.end(), "employed") - ms.begin());
    double a = 0, m = 0;
    for (std::size_t t = 0; t < T; ++t) {
      for (std::size_t dest = 0; dest < R; ++dest) a += visa[((t * R + dest) * R + CN) * NV + approvals];
      m += market[t * NM + j2j];
    }
    CHECK(v[i("cn_approvals")] == a);
    CHECK(v[i("j2j")] == m);
    CHECK(v[i("employed")] == market[5 * NM + employed]);
  }
}

TEST_CASE("outcomes: what the event log records does not change any result") {
  const auto outs = outcomes_of(R"Y(outcomes:
  share: {metric: share, location: US, tier: [top, elite]}
  net: {metric: net_flow, from: US, to: CN}
  pay: {metric: pay_percentile, location: CN, percentile: 75}
  ratio: {metric: output_ratio, numerator: US, denominator: CN}
)Y");
  std::vector<double> first;
  for (const char* level : {"none", "top", "all"}) {
    const auto p = small({std::string("output.event_log=") + level});
    ts::model::Simulation sim(p);
    OutcomeRecorder rec(sim, outs);
    sim.set_observer(&rec);
    while (sim.t() < p.run.steps) sim.step();
    if (first.empty())
      first = rec.values();
    else
      CHECK(rec.values() == first);
  }
}

TEST_CASE("outcomes: problems with a scenario are named; a run without the log an outcome needs is refused") {
  const auto p = small({"output.event_log=none"});
  const auto bad = outcomes_of(R"Y(outcomes:
  a: {metric: share, location: XX}
  b: {metric: firm_count, firm: Nobody}
  c: {metric: stock, at: 30}
  d: {metric: firm_count, firm: "CN AI company#7"}
  e: {metric: flow, window: [-30, -1]}
)Y");
  const auto problems = check_outcomes(p, bad);
  REQUIRE(problems.size() == 4);
  CHECK(problems[0].first == 0);
  CHECK(problems[0].second.find("no region 'XX'") != std::string::npos);
  CHECK(problems[1].second.find("no firm or group of firms named 'Nobody'") != std::string::npos);
  CHECK(problems[2].second == "step 30 outside the run (steps 0..23)");
  CHECK(problems[3].first == 4);
  ts::model::Simulation sim(p);
  CHECK_THROWS_WITH(OutcomeRecorder(sim, outcomes_of("outcomes: {n: {metric: net_flow, from: US, to: CN, tier: top}}")),
                    doctest::Contains("event log"));
  CHECK(log_level_needed(outcomes_of("outcomes: {n: {metric: net_flow, from: US, to: CN, tier: top}}")) ==
        ts::model::EventLogLevel::Top);
  CHECK(log_level_needed(outcomes_of("outcomes: {n: {metric: flow, origin: CN}}")) == ts::model::EventLogLevel::All);
  CHECK(log_level_needed(outcomes_of("outcomes: {n: {metric: flow}}")) == ts::model::EventLogLevel::None);
}

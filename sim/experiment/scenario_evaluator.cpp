#include "sim/experiment/scenario_evaluator.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "sim/experiment/outcomes.hpp"
#include "sim/io/output.hpp"
#include "sim/io/spin_up_cache.hpp"
#include "sim/model/simulation.hpp"

namespace ts::exp {

namespace fs = std::filesystem;

namespace {

const char* log_name(model::EventLogLevel l) {
  return l == model::EventLogLevel::All ? "all" : l == model::EventLogLevel::Top ? "top" : "none";
}

/// Up to `most` of the distinct values of column j of the design, the extremes included.
std::vector<std::string> sample_values(const Design& d, std::size_t j, std::size_t most) {
  std::vector<std::pair<double, std::string>> all;
  for (std::size_t i = 0; i < d.n; ++i) all.emplace_back(d.v(i, j), d.t(i, j));
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  std::vector<std::string> out;
  if (all.size() <= most) {
    for (auto& x : all) out.push_back(x.second);
    return out;
  }
  for (std::size_t q = 0; q < most; ++q) out.push_back(all[q * (all.size() - 1) / (most - 1)].second);
  return out;
}

}  // namespace

std::unique_ptr<ScenarioEvaluator> ScenarioEvaluator::create(const ExperimentSpec& spec, const Design& design, int jobs,
                                                             cfg::Diagnostics& d) {
  const std::size_t errors0 = d.size();
  std::unique_ptr<ScenarioEvaluator> ev(new ScenarioEvaluator());
  ev->spec_ = &spec;
  ev->design_ = &design;
  struct Entry {
    std::string name, file, ref;
    cfg::Location loc;
    std::vector<std::string> overrides;
    std::vector<cfg::Location> locs;
  };
  std::vector<Entry> entries{{spec.base_name, spec.base, spec.base_ref, spec.base_loc, {}, {}}};
  for (const auto& v : spec.variants)
    entries.push_back({v.name, v.scenario.empty() ? spec.base : v.scenario, v.scenario.empty() ? spec.base_ref : v.scenario_ref,
                       v.loc, v.overrides, v.override_locs});
  const bool several = entries.size() > 1;
  auto in_variant = [&](const std::string& name) { return several ? " (variant '" + name + "')" : std::string(); };
  std::set<std::string> seen_sources;
  std::vector<model::Params> params;
  for (const auto& e : entries) {
    cfg::Diagnostics vd;
    auto loaded = cfg::load_files(e.file, vd);
    if (!loaded) {
      for (const auto& x : vd.all()) d.error(x.loc, x.path, x.message);
      d.error(e.loc, e.name == spec.base_name ? "base" : "variants." + e.name, "the scenario '" + e.ref + "' could not be loaded");
      continue;
    }
    Variant v;
    v.name = e.name;
    v.scenario = e.file;
    v.sources = loaded->sources;
    for (const auto& s : loaded->sources)
      if (seen_sources.insert(s.path).second) ev->sources_.push_back(s);
    v.tree = std::move(loaded->root);
    if (v.tree.is_null()) v.tree = cfg::Node::make_map(v.tree.loc);
    v.overrides = spec.overrides;
    std::vector<cfg::Location> locs = spec.override_locs;
    v.overrides.insert(v.overrides.end(), e.overrides.begin(), e.overrides.end());
    locs.insert(locs.end(), e.locs.begin(), e.locs.end());
    cfg::apply_overrides(v.tree, v.overrides, locs, vd);
    cfg::Scenario sc;
    sc.path = v.scenario;
    sc.sources = v.sources;
    sc.overrides = v.overrides;
    sc.tree = v.tree;
    auto checked = vd.empty() ? cfg::check_scenario(std::move(sc), vd) : std::nullopt;
    for (const auto& x : vd.all()) d.error(x.loc, x.path, x.message + in_variant(e.name));
    if (!checked) continue;
    params.push_back(checked->params);
    ev->names_.push_back(v.name);
    ev->variants_.push_back(std::move(v));
  }
  if (d.size() != errors0) return nullptr;

  // The horizon and the output settings of every run.
  ev->steps_ = spec.steps > 0 ? spec.steps : params.front().run.steps;
  const model::EventLogLevel need = log_level_needed(spec.outcomes);
  std::string why;
  for (const auto& o : spec.outcomes)
    if (o.log_level_needed() > 0) why += (why.empty() ? "" : ", ") + o.name;
  if (spec.steps <= 0) ev->notes_.push_back("run.steps=" + std::to_string(ev->steps_) + " in every run: the base scenario's horizon");
  for (std::size_t i = 0; i < ev->variants_.size(); ++i) {
    auto& v = ev->variants_[i];
    v.settings.push_back("run.steps=" + std::to_string(ev->steps_));
    if (spec.keep == Keep::Full) {
      if (params[i].output.event_log < need) {
        v.settings.push_back(std::string("output.event_log=") + log_name(need));
        ev->notes_.push_back(std::string("output.event_log=") + log_name(need) + " in the runs of " + v.name +
                             ": the outcomes " + why + " count moves from the event log");
      }
    } else {
      v.settings.push_back(std::string("output.event_log=") + log_name(need));
      v.settings.push_back("output.snapshots=[]");
    }
  }
  if (spec.keep != Keep::Full)
    ev->notes_.push_back(std::string("output.event_log=") + log_name(need) + " and output.snapshots=[] in every run (keep: " +
                         to_string(spec.keep) + "): " +
                         (need == model::EventLogLevel::None ? std::string("no outcome needs the event log")
                                                             : "the outcomes " + why + " count moves from the event log") +
                         "; what is logged does not change any result");

  // The outcomes against every variant at the experiment's horizon.
  for (std::size_t i = 0; i < ev->variants_.size(); ++i) {
    model::Params p = params[i];
    p.run.steps = ev->steps_;
    for (const auto& [o, msg] : check_outcomes(p, spec.outcomes))
      d.error(spec.outcomes[o].loc, "outcomes." + spec.outcomes[o].name, msg + in_variant(ev->variants_[i].name));
  }
  // Every parameter's values in every variant, one parameter at a time, then the first point whole.
  auto try_load = [&](const Variant& v, const std::vector<std::pair<std::string, cfg::Location>>& sets, cfg::Diagnostics& pd) {
    cfg::Node tree = v.tree;
    for (const auto& s : v.settings) cfg::apply_override(tree, s, cfg::Location{"(sweep settings)", 0, 0}, pd);
    for (const auto& [s, loc] : sets) cfg::apply_override(tree, s, loc, pd);
    if (pd.empty()) (void)model::load_params(tree, pd);
  };
  // The run settings alone (a shorter horizon can leave a scenario's events outside the run).
  const std::size_t errors1 = d.size();
  for (const auto& v : ev->variants_) {
    cfg::Diagnostics pd;
    try_load(v, {}, pd);
    for (const auto& x : pd.all())
      d.error(spec.steps > 0 ? spec.steps_loc : x.loc, spec.steps > 0 ? "steps" : x.path,
              (spec.steps > 0 ? "with run.steps=" + std::to_string(ev->steps_) + in_variant(v.name) + ": " +
                                    cfg::format_location(x.loc) + ": " + (x.path.empty() ? "" : x.path + ": ")
                              : std::string()) +
                  x.message);
  }
  if (d.size() != errors1) return nullptr;
  bool params_ok = true;
  for (std::size_t j = 0; j < spec.parameters.size(); ++j) {
    const auto& p = spec.parameters[j];
    for (const auto& v : ev->variants_)
      for (const auto& value : sample_values(design, j, 16)) {
        cfg::Diagnostics pd;
        try_load(v, {{p.key + "=" + value, p.loc}}, pd);
        if (pd.empty()) continue;
        params_ok = false;
        const auto& x = pd.all().front();
        d.error(p.loc, "parameters[" + p.key + "]",
                "value " + value + in_variant(v.name) + ": " + (x.path.empty() ? "" : x.path + ": ") + x.message +
                    (pd.size() > 1 ? " (and " + std::to_string(pd.size() - 1) + " more)" : ""));
        break;
      }
  }
  if (params_ok && !spec.parameters.empty())
    for (const auto& v : ev->variants_) {
      cfg::Diagnostics pd;
      std::vector<std::pair<std::string, cfg::Location>> sets;
      for (std::size_t j = 0; j < spec.parameters.size(); ++j)
        sets.emplace_back(spec.parameters[j].key + "=" + design.t(0, j), spec.parameters[j].loc);
      try_load(v, sets, pd);
      for (const auto& x : pd.all())
        d.error(spec.design.loc, "design", "the first point" + in_variant(v.name) + ": " + (x.path.empty() ? "" : x.path + ": ") +
                                               x.message);
    }
  // Memory: `jobs` runs at once.
  double need_bytes = 0;
  for (const auto& p0 : params) {
    model::Params p = p0;
    p.run.steps = ev->steps_;
    need_bytes = std::max(need_bytes, cfg::estimate_memory_bytes(p));
  }
  const double have = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  if (have > 0 && need_bytes * jobs > 0.8 * have)
    d.error(spec.base_loc, "base",
            std::to_string(jobs) + " runs at once need about " + std::to_string(int64_t(need_bytes * jobs / 1e9)) +
                " GB, more than 80% of the " + std::to_string(int64_t(have / 1e9)) + " GB this machine has: use fewer --jobs");
  if (d.size() != errors0) return nullptr;
  // Shared spin-ups: as many kept as runs go at once, while they and the running runs fit in
  // 80% of memory.
  const char* share = std::getenv("TALENTSIM_SHARED_SPIN_UP");
  if (!(share && std::string(share) == "0") && need_bytes > 0 && have > 0)
    ev->spin_up_capacity_ = std::size_t(std::clamp<double>(std::floor(0.8 * have / need_bytes) - jobs, 0, jobs));
  return ev;
}

std::unique_ptr<model::Simulation> ScenarioEvaluator::start(const cfg::Node& tree, model::Params params) {
  // Spun up here, or loaded from the folder of spin-ups shared between processes.
  auto spin_up = [&](model::Params p) {
    return spin_up_cache_.empty() ? std::make_unique<model::Simulation>(std::move(p))
                                  : io::SpinUpCache(spin_up_cache_).start(tree, std::move(p)).sim;
  };
  if (spin_up_capacity_ == 0 || params.run.spin_up <= 0) return spin_up(std::move(params));
  const std::string key = io::spin_up_key(tree);
  Spun spun;
  std::promise<std::shared_ptr<const model::Simulation>> mine;
  bool build = false;
  {
    std::lock_guard<std::mutex> lock(spin_up_mutex_);
    auto it = std::find_if(spin_ups_.begin(), spin_ups_.end(), [&](const SharedSpinUp& x) { return x.key == key; });
    if (it != spin_ups_.end()) {
      spin_ups_.splice(spin_ups_.begin(), spin_ups_, it);  // most recently used first
    } else {
      spin_ups_.push_front({key, mine.get_future().share()});
      while (spin_ups_.size() > spin_up_capacity_) spin_ups_.pop_back();  // a waiting run keeps its copy of the future
      build = true;
    }
    spun = spin_ups_.front().sim;
  }
  if (build) {
    try {
      mine.set_value(std::shared_ptr<const model::Simulation>(spin_up(params)));
    } catch (...) {
      mine.set_exception(std::current_exception());
      std::lock_guard<std::mutex> lock(spin_up_mutex_);
      spin_ups_.remove_if([&](const SharedSpinUp& x) { return x.key == key; });
      throw;
    }
  }
  return std::make_unique<model::Simulation>(*spun.get(), std::move(params));
}

void ScenarioEvaluator::set_run_files(std::string dir, std::function<std::string(int64_t)> name_of, std::string command_line) {
  runs_dir_ = std::move(dir);
  run_name_ = std::move(name_of);
  command_line_ = std::move(command_line);
}

std::vector<std::string> ScenarioEvaluator::variant_scenarios() const {
  std::vector<std::string> out;
  for (const auto& v : variants_) out.push_back(v.scenario);
  return out;
}

std::vector<std::string> ScenarioEvaluator::variant_overrides() const {
  std::vector<std::string> out;
  for (const auto& v : variants_) {
    std::string s;
    for (const auto& o : v.overrides) s += (s.empty() ? "" : "\n") + o;
    out.push_back(s);
  }
  return out;
}

std::vector<std::string> ScenarioEvaluator::overrides_of(const RunSpec& run) const {
  const Variant& v = variants_.at(std::size_t(run.variant));
  std::vector<std::string> out = v.overrides;
  for (std::size_t j = 0; j < spec_->parameters.size(); ++j)
    out.push_back(spec_->parameters[j].key + "=" + design_->t(std::size_t(run.point), j));
  out.insert(out.end(), v.settings.begin(), v.settings.end());
  out.push_back("run.seed=" + std::to_string(run.seed));
  return out;
}

std::optional<std::vector<double>> ScenarioEvaluator::evaluate(const RunSpec& run, int threads,
                                                               const std::atomic<bool>& stop) {
  const Variant& v = variants_.at(std::size_t(run.variant));
  cfg::Node tree = v.tree;
  cfg::Diagnostics d;
  for (std::size_t j = 0; j < spec_->parameters.size(); ++j) {
    const auto& p = spec_->parameters[j];
    cfg::apply_override(tree, p.key + "=" + design_->t(std::size_t(run.point), j), p.loc, d);
  }
  for (const auto& s : v.settings) cfg::apply_override(tree, s, cfg::Location{"(sweep settings)", 0, 0}, d);
  cfg::apply_override(tree, "run.seed=" + std::to_string(run.seed), cfg::Location{"(sweep settings)", 0, 0}, d);
  model::Params params;
  if (d.empty()) params = model::load_params(tree, d);
  if (!d.empty()) {
    std::string msg = d.format();
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    throw std::runtime_error("the run's scenario does not load: " + msg);
  }
  const auto started = start(tree, std::move(params));
  model::Simulation& sim = *started;
  OutcomeRecorder rec(sim, spec_->outcomes);
  std::unique_ptr<io::RunWriter> writer;
  if (spec_->keep != Keep::Outcomes) {
    cfg::Scenario sc;
    sc.path = v.scenario;
    sc.sources = v.sources;
    sc.overrides = overrides_of(run);
    sc.tree = tree;
    sc.params = sim.params();
    const std::string out = (fs::path(runs_dir_) / run_name_(run.id)).string();
    writer = std::make_unique<io::RunWriter>(out, sc, sim,
                                             io::RunInfo{threads, command_line_ + " (run " + std::to_string(run.id) + ")", true});
  }
  Observers obs;
  obs.add(&rec);
  if (writer) obs.add(writer.get());
  sim.set_observer(&obs);
  const int64_t T = sim.params().run.steps;
  while (sim.t() < T) {
    if (stop.load()) {
      if (writer) writer->abandon();
      return std::nullopt;
    }
    sim.step();
  }
  if (writer) writer->finish(sim, "complete");
  return rec.values();
}

}  // namespace ts::exp

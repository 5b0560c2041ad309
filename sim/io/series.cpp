#include "sim/io/series.hpp"

#include <cstring>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "sim/engine/parallel.hpp"
#include "sim/model/terms.hpp"

namespace ts::io {

namespace {

using model::Simulation;
using model::StepStats;

template <class T>
constexpr const char* dtype_name() {
  if constexpr (std::is_same_v<T, int64_t>) return "int64";
  if constexpr (std::is_same_v<T, int16_t>) return "int16";
  if constexpr (std::is_same_v<T, int8_t>) return "int8";
  if constexpr (std::is_same_v<T, double>) return "float64";
  if constexpr (std::is_same_v<T, int32_t>) return "int32";
  if constexpr (std::is_same_v<T, uint64_t>) return "uint64";
  if constexpr (std::is_same_v<T, uint8_t>) return "uint8";
  if constexpr (std::is_same_v<T, float>) return "float32";
}

/// A time series of /series: one row a step, filled from the simulation by `fill`.
template <class T>
class Series final : public StepDataset {
 public:
  using Fill = std::function<void(const Simulation&, std::vector<T>&)>;
  Series(DatasetInfo info, Fill fill) : StepDataset({std::move(info)}), fill_(std::move(fill)) {}

  void create(h5::Group& g, int regions, std::size_t firms, hsize_t chunk_rows) override {
    const DatasetInfo& d = infos_[0];
    std::vector<hsize_t> row;
    for (std::size_t k = 1; k < d.axes.size(); ++k) row.push_back(axis_length(d.axes[k], regions, firms));
    s_ = g.series<T>(d.name, row, chunk_rows);
    g.attr("dims", d.axes, d.name);
    if (!d.units.empty()) g.attr("units", d.units, d.name);
  }
  void reopen(h5::Group& g, hsize_t rows) override {
    s_ = g.open_series<T>(infos_[0].name);
    s_.truncate(rows);
  }
  void take(const Simulation& sim, std::vector<std::byte>& rows) const override {
    thread_local std::vector<T> v;
    fill_(sim, v);
    rows.resize(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(rows.data(), v.data(), rows.size());
  }
  void append(const std::vector<std::byte>& rows) override {
    s_.append(reinterpret_cast<const T*>(rows.data()), hsize_t(rows.size() / sizeof(T)) / std::max<hsize_t>(1, s_.row_size()));
  }
  void release() override { s_ = {}; }

 private:
  Fill fill_;
  h5::Series<T> s_;
};

/// One column of the event log: a member of LogEntry.
template <class T>
struct EventColumn {
  DatasetInfo info;
  T model::LogEntry::*member;
};

/// The event log: this step's entries are copied whole on the stepping thread and split into
/// their columns when appended (one pass per column, off the stepping thread when the writer
/// appends in the background).
class EventLog final : public StepDataset {
 public:
  template <class... T>
  explicit EventLog(EventColumn<T>... cols) : StepDataset({cols.info...}) {
    (columns_.push_back(std::make_unique<Column<T>>(cols.member)), ...);
  }
  static constexpr hsize_t kChunkRows = 65536;

  void create(h5::Group& g, int, std::size_t, hsize_t) override {
    for (std::size_t k = 0; k < columns_.size(); ++k) columns_[k]->create(g, infos_[k]);
  }
  void reopen(h5::Group& g, hsize_t rows) override {
    for (std::size_t k = 0; k < columns_.size(); ++k) columns_[k]->reopen(g, infos_[k], rows);
  }
  void take(const Simulation& sim, std::vector<std::byte>& rows) const override {
    const auto& log = sim.stats().log;
    rows.resize(log.size() * sizeof(model::LogEntry));
    if (!log.empty()) std::memcpy(rows.data(), log.data(), rows.size());
  }
  void append(const std::vector<std::byte>& rows) override {
    const std::size_t n = rows.size() / sizeof(model::LogEntry);
    if (n == 0) return;
    const auto* log = reinterpret_cast<const model::LogEntry*>(rows.data());
    for (auto& c : columns_) c->append(log, n);
  }
  void release() override {
    for (auto& c : columns_) c->release();
  }

 private:
  struct AnyColumn {
    virtual ~AnyColumn() = default;
    virtual void create(h5::Group& g, const DatasetInfo& d) = 0;
    virtual void reopen(h5::Group& g, const DatasetInfo& d, hsize_t rows) = 0;
    virtual void append(const model::LogEntry* log, std::size_t n) = 0;
    virtual void release() = 0;
  };
  template <class T>
  struct Column final : AnyColumn {
    explicit Column(T model::LogEntry::*m) : member(m) {}
    T model::LogEntry::*member;
    h5::Series<T> s;
    std::vector<T> buf;
    void create(h5::Group& g, const DatasetInfo& d) override {
      s = g.series<T>(d.name, {}, kChunkRows);
      if (!d.dictionary.empty()) g.attr("dictionary", d.dictionary, d.name);
    }
    void reopen(h5::Group& g, const DatasetInfo& d, hsize_t rows) override {
      s = g.open_series<T>(d.name);
      s.truncate(rows);
    }
    void append(const model::LogEntry* log, std::size_t n) override {
      buf.resize(n);
      for (std::size_t i = 0; i < n; ++i) buf[i] = log[i].*member;
      s.append(buf);
    }
    void release() override { s = {}; }
  };
  std::vector<std::unique_ptr<AnyColumn>> columns_;
};

template <class T>
std::unique_ptr<StepDataset> series(DatasetInfo info, typename Series<T>::Fill fill) {
  info.group = "series";
  info.dtype = dtype_name<T>();
  info.axes.insert(info.axes.begin(), "step");
  return std::make_unique<Series<T>>(std::move(info), std::move(fill));
}

template <class T>
EventColumn<T> event_column(std::string name, T model::LogEntry::*member, std::string units, std::string description,
                            std::string dictionary = "") {
  return {DatasetInfo{"events", std::move(name), dtype_name<T>(), {"event"}, std::move(units), std::move(description),
                      std::move(dictionary)},
          member};
}

/// Fill from a vector of the step's statistics.
template <class T>
auto stat(const std::vector<T> StepStats::*member) {
  return [member](const Simulation& sim, std::vector<T>& out) { out = sim.stats().*member; };
}
/// Fill from a per-firm column.
template <class T>
auto firm_column(const std::vector<T> model::Firms::*member) {
  return [member](const Simulation& sim, std::vector<T>& out) { out = sim.world().f.*member; };
}

}  // namespace

hsize_t axis_length(const std::string& axis, int regions, std::size_t firms) {
  if (axis == "region" || axis == "location" || axis == "origin" || axis == "destination" || axis == "from_region" ||
      axis == "to_region")
    return hsize_t(regions);
  if (axis == "tier") return model::kTiers;
  if (axis == "percentile") return model::kPercentiles;
  if (axis == "visa_stat") return model::kVisaStats;
  if (axis == "market_stat") return model::kMarketStats;
  if (axis == "firm") return hsize_t(firms);
  throw std::logic_error("io::axis_length: unknown axis '" + axis + "'");
}

// The declarations. To add a series: one entry here (name, axes after "step", units,
// description, and how to take its row), then `build/talentsim layout` regenerates the layout
// document's entries (docs/architecture.md, "Output series").
std::vector<std::unique_ptr<StepDataset>> step_datasets() {
  using model::LogEntry;
  std::vector<std::unique_ptr<StepDataset>> d;
  d.push_back(series<int64_t>({.name = "step", .description = "Step number of each row (0, 1, ...)."},
                              [](const Simulation& s, std::vector<int64_t>& v) { v.assign(1, s.t()); }));
  d.push_back(series<int64_t>(
      {.name = "month", .units = "YYYYMM", .description = "Calendar month of each row as YYYYMM (e.g. 202507)."},
      [](const Simulation& s, std::vector<int64_t>& v) {
        const int m = s.calendar_month(s.t());
        v.assign(1, int64_t(m / 12) * 100 + m % 12 + 1);
      }));
  d.push_back(series<int64_t>({.name = "stocks", .axes = {"location", "origin", "tier"}, .units = "researchers",
                               .description = "Researchers alive at the end of the step, employed or not, by region "
                                              "of work, region of origin and tier."},
                              stat(&StepStats::stocks)));
  d.push_back(series<int64_t>({.name = "flows", .axes = {"from_region", "to_region"}, .units = "researchers per month",
                               .description = "Researchers who changed region this step (hires, moves and "
                                              "relocations across regions, forced departures)."},
                              stat(&StepStats::flows)));
  d.push_back(series<double>({.name = "pay_percentiles", .axes = {"tier", "region", "percentile"},
                              .units = "USD per year",
                              .description = "Percentiles of annual compensation among the employed, by tier and "
                                             "region of work, at the end of the step; NaN where nobody is employed."},
                             stat(&StepStats::pay_pct)));
  d.push_back(series<int64_t>({.name = "visa", .axes = {"destination", "origin", "visa_stat"},
                               .units = "events per month",
                               .description = "Visa events this step by destination (the region of the visa: of the "
                                              "petition, the expiring or renewed visa, the region left) and origin of "
                                              "the researcher."},
                              stat(&StepStats::visa)));
  d.push_back(series<int64_t>({.name = "market", .axes = {"market_stat"}, .units = "researchers or events per month",
                               .description = "Market counters of the step; employed and unemployed are stocks at "
                                              "the end of the step."},
                              stat(&StepStats::market)));
  d.push_back(series<int64_t>({.name = "unemployed", .axes = {"location"}, .units = "researchers",
                               .description = "Researchers alive and without an employer at the end of the step, by "
                                              "region where they live (students and new entrants included)."},
                              stat(&StepStats::unemployed_region)));
  d.push_back(series<double>({.name = "output_by_region", .axes = {"region"}, .units = "papers per month",
                              .description = "Papers produced this step, credited to the region where the researcher "
                                             "works."},
                             stat(&StepStats::output_region)));
  d.push_back(series<double>({.name = "output_by_origin", .axes = {"origin"}, .units = "papers per month",
                              .description = "Papers produced this step, credited to the researcher's origin."},
                             stat(&StepStats::output_origin)));
  d.push_back(series<double>({.name = "hc_output_by_region", .axes = {"region"}, .units = "papers per month",
                              .description = "Highly cited papers (the part produced by top and elite researchers) "
                                             "by region of work."},
                             stat(&StepStats::hc_region)));
  d.push_back(series<double>({.name = "hc_output_by_origin", .axes = {"origin"}, .units = "papers per month",
                              .description = "Highly cited papers by origin."},
                             stat(&StepStats::hc_origin)));
  d.push_back(series<int64_t>({.name = "firm_headcount", .axes = {"firm"}, .units = "researchers",
                               .description = "Employees at the end of the step."},
                              firm_column(&model::Firms::headcount)));
  d.push_back(series<int64_t>({.name = "firm_elite", .axes = {"firm"}, .units = "researchers",
                               .description = "Elite-tier employees, at the end of the step."},
                              firm_column(&model::Firms::elite)));
  d.push_back(series<int64_t>({.name = "firm_vacancies", .axes = {"firm"}, .units = "positions (-1 = unlimited)",
                               .description = "Vacancies left after clearing; -1 for firms with unlimited hiring."},
                              [](const Simulation& s, std::vector<int64_t>& v) {
                                const auto& F = s.world().f;
                                v.resize(F.size());
                                for (std::size_t f = 0; f < F.size(); ++f) v[f] = F.unlimited[f] ? -1 : F.vacancies[f];
                              }));
  d.push_back(series<double>({.name = "firm_wage_bill", .axes = {"firm"}, .units = "USD per year",
                              .description = "Sum of employees' annual compensation, at the end of the step."},
                             firm_column(&model::Firms::wage_bill)));
  d.push_back(series<double>({.name = "firm_compute_per_researcher", .axes = {"firm"},
                              .units = "GPU-equivalents per researcher",
                              .description = "Compute per researcher at the HQ office after export controls, with "
                                             "end-of-step headcount."},
                             [](const Simulation& s, std::vector<double>& v) {
                               const auto& F = s.world().f;
                               v.resize(F.size());
                               for (std::size_t f = 0; f < F.size(); ++f)
                                 v[f] = model::compute_per_researcher(s.state(), int(f), F.hq[f]);
                             }));
  d.push_back(series<double>({.name = "firm_output", .axes = {"firm"}, .units = "papers per month",
                              .description = "Papers produced by the firm this step."},
                             firm_column(&model::Firms::output)));
  d.push_back(series<double>({.name = "firm_hc_output", .axes = {"firm"}, .units = "papers per month",
                              .description = "Highly cited papers produced by the firm this step."},
                             firm_column(&model::Firms::hc_output)));
  d.push_back(std::make_unique<EventLog>(
      event_column("step", &LogEntry::step, "", "Step of the event."),
      event_column("researcher", &LogEntry::uid, "", "Researcher uid (stable identity, same as /snapshots/*/researcher)."),
      event_column("kind", &LogEntry::kind, "", "Event kind code; name = /dims/event_kinds[kind].", "/dims/event_kinds"),
      event_column("from_firm", &LogEntry::from_firm, "", "Firm index before (or current employer), -1 for none.",
                   "/firms/name"),
      event_column("to_firm", &LogEntry::to_firm, "", "Firm index after (or sponsoring firm), -1 for none.",
                   "/firms/name"),
      event_column("from_region", &LogEntry::from_region, "", "Region index before (location).", "/dims/regions"),
      event_column("to_region", &LogEntry::to_region, "", "Region index after (destination).", "/dims/regions"),
      event_column("pay_before", &LogEntry::pay_before, "USD per year",
                   "Annual compensation before the event (0 if unemployed)."),
      event_column("pay_after", &LogEntry::pay_after, "USD per year",
                   "Annual compensation after the event (or offered), 0 if none."),
      event_column("origin", &LogEntry::origin, "", "Region index of the researcher's origin.", "/dims/regions"),
      event_column("tier", &LogEntry::tier, "", "Tier code of the researcher at the time of the event.",
                   "/dims/tiers")));
  return d;
}

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string json_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t k = 0; k < v.size(); ++k) out += (k ? ", " : "") + json_string(v[k]);
  return out + "]";
}

}  // namespace

/// The snapshot datasets (from the researcher column list).
std::vector<DatasetInfo> snapshot_infos() {
  std::vector<DatasetInfo> out;
  model::Researchers none;
  model::for_each_researcher_column(none, [&](const auto& c, const auto& column) {
    using T = typename std::decay_t<decltype(column)>::value_type;
    if (c.snapshot)
      out.push_back({"snapshots/step_NNNNNN", c.snapshot, dtype_name<T>(), {"researcher"}, c.units, c.doc, c.dictionary});
  });
  return out;
}

std::string step_datasets_layout_json() {
  std::ostringstream out;
  auto attribute = [&](const DatasetInfo& d, const std::string& name, const std::string& dims,
                       const std::string& description) {
    out << "    " << json_string(d.path() + "@" + name) << ": {\"kind\": \"attribute\", \"dtype\": \"string\", \"dims\": "
        << dims << ", \"description\": " << json_string(description) << "},\n";
  };
  for (const auto& ds : step_datasets())
    for (const auto& d : ds->infos()) {
      out << "    " << json_string(d.path()) << ": {\"kind\": \"dataset\", \"dtype\": " << json_string(d.dtype)
          << ", \"dims\": " << json_list(d.axes);
      if (!d.units.empty()) out << ", \"units\": " << json_string(d.units);
      if (!d.dictionary.empty()) out << ", \"dictionary\": " << json_string(d.dictionary);
      out << ", \"description\": " << json_string(d.description) << "},\n";
      if (d.group == "series") {
        attribute(d, "dims", "[\"axis\"]", "Axis names of the dataset.");
        if (!d.units.empty()) attribute(d, "units", "[]", "\"" + d.units + "\".");
      }
      if (!d.dictionary.empty()) attribute(d, "dictionary", "[]", "The dataset that names the codes: \"" + d.dictionary + "\".");
    }
  for (const auto& d : snapshot_infos()) {
    out << "    " << json_string(d.path()) << ": {\"kind\": \"dataset\", \"dtype\": " << json_string(d.dtype)
        << ", \"dims\": " << json_list(d.axes);
    if (!d.units.empty()) out << ", \"units\": " << json_string(d.units);
    if (!d.dictionary.empty()) out << ", \"dictionary\": " << json_string(d.dictionary);
    out << ", \"description\": " << json_string(d.description) << ", \"optional\": true},\n";
    if (!d.dictionary.empty())
      out << "    " << json_string(d.path() + "@dictionary")
          << ": {\"kind\": \"attribute\", \"dtype\": \"string\", \"dims\": [], \"description\": "
          << json_string("The dataset that names the codes: \"" + d.dictionary + "\".") << ", \"optional\": true},\n";
  }
  return out.str();
}

std::string step_datasets_layout_markdown() {
  std::ostringstream out;
  auto shape = [](const DatasetInfo& d) {
    std::string s = "[";
    for (std::size_t k = 0; k < d.axes.size(); ++k) s += (k ? ", " : "") + d.axes[k];
    return s + "]";
  };
  for (const char* group : {"series", "events"}) {
    out << "<!-- " << group << ": generated by `talentsim layout --markdown` -->\n";
    out << "| dataset | dtype | shape | units | dictionary | meaning |\n|---|---|---|---|---|---|\n";
    std::vector<std::string> attributes;
    for (const auto& ds : step_datasets())
      for (const auto& d : ds->infos()) {
        if (d.group != group) continue;
        out << "| `" << d.path() << "` | " << d.dtype << " | " << shape(d) << " | " << d.units << " | "
            << (d.dictionary.empty() ? "" : "`" + d.dictionary + "`") << " | " << d.description << " |\n";
        if (d.group == "series") {
          attributes.push_back("| `" + d.path() + "@dims` | string [axis] | the axis names above |");
          if (!d.units.empty()) attributes.push_back("| `" + d.path() + "@units` | string | `\"" + d.units + "\"` |");
        }
        if (!d.dictionary.empty())
          attributes.push_back("| `" + d.path() + "@dictionary` | string | `\"" + d.dictionary + "\"` |");
      }
    out << "\nAttributes:\n\n| attribute | dtype | value |\n|---|---|---|\n";
    for (const auto& a : attributes) out << a << "\n";
    out << "<!-- end of the generated " << group << " tables -->\n";
  }
  out << "<!-- snapshots: generated by `talentsim layout --markdown` -->\n";
  out << "| dataset | dtype | units | dictionary | meaning |\n|---|---|---|---|---|\n";
  for (const auto& d : snapshot_infos())
    out << "| `" << d.path() << "` | " << d.dtype << " | " << d.units << " | "
        << (d.dictionary.empty() ? "" : "`" + d.dictionary + "`") << " | " << d.description << " |\n";
  out << "\nAttributes:\n\n| attribute | dtype | value |\n|---|---|---|\n";
  for (const auto& d : snapshot_infos())
    if (!d.dictionary.empty()) out << "| `" << d.path() << "@dictionary` | string | `\"" << d.dictionary << "\"` |\n";
  out << "<!-- end of the generated snapshots tables -->\n";
  return out.str();
}

}  // namespace ts::io

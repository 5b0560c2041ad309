// Simulation state: researchers and firms as columns (struct of arrays).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/config/params.hpp"

namespace ts::model {

enum class Status : uint8_t { Citizen = 0, Permanent = 1, WorkVisa = 2, StudentVisa = 3, None = 4 };
enum Tier : uint8_t { Regular = 0, Top = 1, Elite = 2 };
inline constexpr int kTiers = 3;
inline constexpr int32_t kNoFirm = -1;

/// A researcher column's description: its name (checkpoints), its name in snapshots (nullptr:
/// not written to snapshots), the value of a slot nobody holds, and for snapshots its units,
/// the dataset naming its codes, and what it is (the layout document is made from these).
template <class T>
struct Column {
  const char* name;
  const char* snapshot;
  T empty;
  const char* units = "";
  const char* dictionary = "";
  const char* doc = "";
};

/// One column per field; index = slot. Slots of researchers who left are reused by
/// entrants; `uid` is the stable identity used for random keys and the event log.
struct Researchers {
  std::vector<uint64_t> uid;
  std::vector<uint8_t> alive;
  std::vector<uint8_t> origin;      ///< region of undergraduate education
  std::vector<uint8_t> location;    ///< region where the researcher lives/works (= office region)
  std::vector<uint8_t> tier;        ///< Tier, derived from talent rank each step
  std::vector<uint8_t> status;      ///< Status in `location`
  std::vector<uint8_t> renewals;    ///< work-visa renewals used
  std::vector<uint8_t> flags;       ///< per-step scratch bits (kFlag*)
  std::vector<int8_t> grace;        ///< months left before a forced departure, -1 = not counting
  std::vector<int16_t> age;         ///< age in months
  std::vector<int16_t> tenure;      ///< months at the current employer
  std::vector<int16_t> in_region;   ///< months continuously in `location`
  std::vector<int16_t> visa_left;   ///< months left on a work or student visa
  std::vector<int16_t> residency;   ///< months in the residency queue, -1 = no application pending
  std::vector<int32_t> employer;    ///< firm index or kNoFirm
  std::vector<float> talent;        ///< θ, innate talent (potential)
  std::vector<float> skill;         ///< θ(t), realised talent: θ · e(career); = θ without experience
  std::vector<int16_t> career;      ///< months since entering the field
  std::vector<float> comp;          ///< annual total compensation, USD (0 if no job)
  std::vector<float> home_bias;     ///< h_i
  std::vector<float> compute_taste; ///< c_i
  std::vector<float> ref_offer;     ///< best outside offer the employer matched (§4.5)
  std::vector<float> output;        ///< papers credited
  std::vector<float> hc_output;     ///< highly cited papers credited
  // A move waiting for its visa decision
  std::vector<int32_t> pending_firm;  ///< kNoFirm if none
  std::vector<uint8_t> pending_region;
  std::vector<int8_t> pending_left;   ///< months until the decision
  std::vector<uint8_t> pending_kind;  ///< 0 new petition, 1 change of status (student), 2 relocation
  std::vector<float> pending_comp;

  std::size_t size() const { return uid.size(); }
  void resize(std::size_t n);
  void reserve(std::size_t n);  ///< capacity for n researchers in every column
  /// Capacity to reserve for n researchers: n plus an eighth. Reserved but unused capacity is
  /// address space, not resident memory (the pages are untouched until entrants fill them), and
  /// it lets the population grow by 12.5% before all columns have to be copied (once per column
  /// by std::vector); the 120-month baseline grows by less than that.
  static std::size_t headroom(std::size_t n) { return n + n / 8; }
  static std::size_t bytes_per_researcher();
};

/// Calls v(Column<T>{...}, column) for every researcher column, in one fixed order. This is the
/// list of the columns: resizing, reserving, checkpoints, snapshots and the memory accounting
/// all go through it, so a new column is added here (and in Researchers) and nowhere else.
template <class R, class V>
void for_each_researcher_column(R& r, V&& v) {
  v(Column<uint64_t>{"uid", "researcher", 0, "", "", "Researcher uid (stable identity, as in /events/researcher)."}, r.uid);
  v(Column<uint8_t>{"alive", nullptr, 0}, r.alive);
  v(Column<uint8_t>{"origin", "origin", 0, "", "/dims/regions", "Region index of origin."}, r.origin);
  v(Column<uint8_t>{"location", "location", 0, "", "/dims/regions", "Region index of work and residence."}, r.location);
  v(Column<uint8_t>{"tier", "tier", 0, "", "/dims/tiers", "Tier code, by realised talent."}, r.tier);
  v(Column<uint8_t>{"status", "status", 0, "", "/dims/statuses", "Residence status code in the location."}, r.status);
  v(Column<uint8_t>{"renewals", nullptr, 0}, r.renewals);
  v(Column<uint8_t>{"flags", nullptr, 0}, r.flags);
  v(Column<int8_t>{"grace", nullptr, -1}, r.grace);
  v(Column<int16_t>{"age", "age_months", 0, "months", "", "Age."}, r.age);
  v(Column<int16_t>{"tenure", "tenure", 0, "months", "", "Months at the current employer."}, r.tenure);
  v(Column<int16_t>{"in_region", "months_in_region", 0, "months", "", "Months continuously in the location."}, r.in_region);
  v(Column<int16_t>{"visa_left", "visa_months_left", 0, "months", "", "Months left on a work or student visa (0 if none)."},
    r.visa_left);
  v(Column<int16_t>{"residency", "residency_queue_months", -1, "months", "",
                    "Months an application for permanent residency has been pending, -1 if none."},
    r.residency);
  v(Column<int32_t>{"employer", "employer", -1, "", "/firms/name", "Firm index, -1 if not employed."}, r.employer);
  v(Column<float>{"talent", "talent", 0.f, "", "", "Innate talent θ (potential)."}, r.talent);
  v(Column<float>{"skill", "realised_talent", 0.f, "", "",
                  "Realised talent θ(t) = θ · e(career months) (θ when experience is off)."},
    r.skill);
  v(Column<int16_t>{"career", "career_months", 0, "months", "", "Months since entering the field."}, r.career);
  v(Column<float>{"comp", "comp", 0.f, "USD per year", "", "Annual compensation, 0 if not employed."}, r.comp);
  v(Column<float>{"home_bias", "home_bias", 0.f, "", "", "Home-bias utility weight h_i."}, r.home_bias);
  v(Column<float>{"compute_taste", "compute_taste", 0.f, "", "", "Compute-taste utility weight c_i."}, r.compute_taste);
  v(Column<float>{"ref_offer", "reference_offer", 0.f, "USD per year", "", "Best outside offer the employer matched."},
    r.ref_offer);
  v(Column<float>{"output", "output", 0.f, "papers", "", "Papers credited since the run's start (step 0; the spin-up before it credits none)."}, r.output);
  v(Column<float>{"hc_output", "hc_output", 0.f, "papers", "", "Highly cited papers credited since the run's start (step 0)."}, r.hc_output);
  v(Column<int32_t>{"pending_firm", "pending_firm", -1, "", "/firms/name",
                    "Firm of a move waiting for its visa decision, -1 if none."},
    r.pending_firm);
  v(Column<uint8_t>{"pending_region", nullptr, 0}, r.pending_region);
  v(Column<int8_t>{"pending_left", nullptr, 0}, r.pending_left);
  v(Column<uint8_t>{"pending_kind", nullptr, 0}, r.pending_kind);
  v(Column<float>{"pending_comp", nullptr, 0.f}, r.pending_comp);
}

/// Realised talent θ(t) = θ · e(m) after m career months: e rises linearly from X.start at entry
/// to 1 after X.months; θ itself when experience is off.
inline float realised_talent(float talent, int career_months, const ExperienceParams& X) {
  if (!X.enabled || career_months >= X.months) return talent;
  return float(double(talent) * (X.start + (1.0 - X.start) * double(career_months) / double(X.months)));
}

inline constexpr uint8_t kFlagSeparated = 1;  ///< lost job this step: no offers until next step
inline constexpr uint8_t kFlagEntered = 2;    ///< entered this step

/// Firm state, one column per field. Offices are a flat list per firm.
struct Firms {
  std::vector<std::string> name;
  std::vector<int32_t> group;          ///< index into Params::firms
  std::vector<uint8_t> kind, hq, controlled_by;
  std::vector<uint32_t> office_begin;  ///< offices of firm f: [office_begin[f], office_begin[f+1])
  std::vector<uint8_t> office_region;
  std::vector<double> office_share;
  std::vector<uint8_t> office_open;
  // policy
  std::vector<double> budget, compute_share, compute_factor, productivity, prestige;
  std::vector<double> base_pay, elasticity, premium, max_package, annual_raise;
  std::vector<uint8_t> unlimited, retention, sponsors, pay_rule;
  std::vector<double> valuation_share;
  /// A unit of realised talent's value to the firm, 12 × output_value × ∂Y/∂(Σθ) (USD a year,
  /// before the region's pay level), from the staff at planning (pay rule valuation).
  std::vector<double> value_per_theta;
  std::vector<double> search_intensity, budget_growth, scouting_rate, max_raise, max_fee;
  /// The part of the budget that pays researchers (USD a year): at the start, what the planned
  /// headcount costs at the firm's pay; it changes with the budget (trend, shocks).
  std::vector<double> wage_budget;
  std::vector<int64_t> scouting_list;
  std::vector<uint32_t> rivals_begin;  ///< rivals of firm f: rivals[rivals_begin[f] .. rivals_begin[f+1])
  std::vector<int32_t> rivals;
  // planning and bookkeeping
  std::vector<double> target;          ///< target headcount: the wage budget over the expected pay
  /// headcount, elite (staff in the elite tier) and pending_in (incoming hires waiting for a
  /// visa) are current at all times (Simulation::staff_into); vacancies are set by planning,
  /// used by clearing.
  std::vector<int64_t> headcount, elite, pending_in, vacancies, extra_capacity;
  std::vector<double> compute;         ///< GPU-equivalents after export-control multipliers (HQ office)
  std::vector<double> wage_bill;       ///< annual USD of the current staff (kept current like headcount)
  std::vector<double> sum_theta;       ///< Σθ of the staff at production (not updated while production is off)
  std::vector<double> output;          ///< papers this step
  std::vector<double> hc_output;

  std::size_t size() const { return name.size(); }
  uint32_t offices(std::size_t f) const { return office_begin[f + 1] - office_begin[f]; }
};

struct RegionState {
  std::vector<int64_t> cap_used;           ///< capped approvals this cap year, by destination
  std::vector<double> selection_estimate;  ///< last cap year's lottery selection rate
  std::vector<int64_t> cap_applied;        ///< capped petitions that reached the lottery this cap year
  std::vector<double> compute_multiplier;  ///< by controlling region (events may change it)
  std::vector<uint8_t> exempt_abroad;
  std::vector<double> service_penalty;
};

/// Calls v(name, column) for every firm column (checkpoints), in one fixed order.
template <class F, class V>
void for_each_firm_column(F& f, V&& v) {
  v("name", f.name); v("group", f.group); v("kind", f.kind); v("hq", f.hq); v("controlled_by", f.controlled_by);
  v("office_begin", f.office_begin); v("office_region", f.office_region); v("office_share", f.office_share);
  v("office_open", f.office_open); v("budget", f.budget); v("compute_share", f.compute_share);
  v("compute_factor", f.compute_factor); v("productivity", f.productivity); v("prestige", f.prestige);
  v("base_pay", f.base_pay); v("elasticity", f.elasticity); v("premium", f.premium); v("max_package", f.max_package);
  v("annual_raise", f.annual_raise); v("unlimited", f.unlimited); v("retention", f.retention); v("sponsors", f.sponsors);
  v("pay_rule", f.pay_rule); v("valuation_share", f.valuation_share); v("value_per_theta", f.value_per_theta);
  v("search_intensity", f.search_intensity); v("budget_growth", f.budget_growth); v("scouting_rate", f.scouting_rate);
  v("wage_budget", f.wage_budget);
  v("max_raise", f.max_raise); v("max_fee", f.max_fee); v("scouting_list", f.scouting_list);
  v("rivals_begin", f.rivals_begin); v("rivals", f.rivals); v("target", f.target); v("headcount", f.headcount);
  v("elite", f.elite); v("pending_in", f.pending_in); v("vacancies", f.vacancies); v("extra_capacity", f.extra_capacity);
  v("compute", f.compute); v("wage_bill", f.wage_bill); v("sum_theta", f.sum_theta); v("output", f.output);
  v("hc_output", f.hc_output);
}

/// Calls v(name, column) for every column of the regions' state (checkpoints).
template <class G, class V>
void for_each_region_column(G& s, V&& v) {
  v("cap_used", s.cap_used); v("selection_estimate", s.selection_estimate); v("cap_applied", s.cap_applied);
  v("compute_multiplier", s.compute_multiplier); v("exempt_abroad", s.exempt_abroad); v("service_penalty", s.service_penalty);
}

/// Everything the simulation evolves.
struct World {
  Researchers r;
  Firms f;
  RegionState reg;
  uint64_t next_uid = 0;
  int step = 0;  ///< the step being (or about to be) simulated
};

}  // namespace ts::model

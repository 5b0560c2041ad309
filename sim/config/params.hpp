// The scenario parameters: one documented struct tree, loaded strictly from YAML.
//
// Every field is declared once, in a describe() function (params.cpp) that names its
// config key, its range and its documentation. The same description drives the strict
// loader (unknown keys, wrong types, out-of-range values), the dump of the resolved
// configuration into the HDF5 file, and the key reference printed by `talentsim keys`.
// Defaults are the member initialisers below. Figures cite FIGURES.md tags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/config/diagnostics.hpp"
#include "sim/config/yaml_tree.hpp"

namespace ts::model {

using cfg::Location;

/// A number, or a distribution to draw it from: `5`, `{dist: lognormal, median: 20, sigma: 1}`.
struct Dist {
  enum class Kind : uint8_t { Constant, Uniform, Normal, LogNormal, BMEquilibrium };
  Kind kind = Kind::Constant;
  double a = 0.0;  ///< constant value | uniform min | normal mean | lognormal median | BM p
  double b = 0.0;  ///< uniform max | normal sd | lognormal sigma
  bool stratified = false;  ///< draw member j of a group at quantile (j + U)/n
  static Dist constant(double v) { return Dist{Kind::Constant, v, 0.0, false}; }
};

/// A named share or weight attached to a region (or firm), remembering where it was written.
struct Share {
  std::string name;
  double value = 0.0;
  Location loc;
};

/// Event date: a calendar month "2025-09" or a step number.
struct When {
  int step = -1;         ///< resolved step (after load)
  int month_index = -1;  ///< year*12 + month-1 if given as a month
  Location loc;
};

/// Visa rules for researchers of one origin entering one destination.
struct VisaRule {
  double approval = 1.0;         ///< probability a petition is approved
  int processing_months = 0;     ///< months from petition to decision
  bool capped = false;           ///< counted against the destination's annual cap (lottery)
  double renewal = 1.0;          ///< probability an expiring visa is renewed
  double pr_rate = 0.0;          ///< yearly rate at which the residency queue grants a pending application [P4]
};

struct VisaOverride {
  std::string name;  ///< origin region
  VisaRule rule;
  Location loc;
};

/// How the destination's cap lottery selects a capped petition [P7]: every petition one entry,
/// or entries by the wage level of the offered pay (level I … IV: 1 … 4 entries).
enum class LotteryRule : uint8_t { Uniform, WageWeighted };

/// Whose petitions bypass the destination's cap and lottery by their talent: nobody, or the
/// researchers of the top tier (top and elite) or of the elite only. The visa for
/// extraordinary ability, uncapped (the O-1 in the US, 8 U.S.C. 1101(a)(15)(O)) [S]. Values are
/// the tier codes (Top = 1, Elite = 2).
enum class CapExemptTalent : uint8_t { None = 0, Top = 1, Elite = 2 };

/// Annual pay (USD) from which an offer is at wage level II, III and IV (below level II: level I),
/// for the wage-weighted lottery [P7][S].
struct WageLevels {
  double level_2 = 0, level_3 = 0, level_4 = 0;
};

struct RegionParams {
  std::string name;
  Location loc;
  // Labour market
  double pay_level = 1.0;          ///< multiplies firms' base pay for offices in this region
  double unemployed_income = 30000;  ///< annual USD value of being without a job here
  // Visas (this region as destination)
  VisaRule visa;                   ///< default rule for every foreign origin
  std::vector<VisaOverride> visa_by_origin;  ///< per-origin rules (replace fields given)
  int64_t annual_cap = -1;         ///< capped petitions approved per year, -1 = unlimited
  int cap_year_start = 10;         ///< calendar month the cap year starts (US fiscal: 10)
  double lottery_selection = 1.0;  ///< chance an entry wins the economy-wide lottery [P2]
  LotteryRule lottery = LotteryRule::Uniform;  ///< one entry per petition, or by wage level [P7]
  WageLevels wage_levels;          ///< pay thresholds of wage levels II–IV (wage_weighted)
  CapExemptTalent cap_exempt_talent = CapExemptTalent::None;  ///< tiers whose petitions skip cap and lottery [S]
  double petition_fee = 0.0;       ///< USD the sponsoring firm pays per new petition
  double talent_petition_fee = -1; ///< the fee of a petition exempt by cap_exempt_talent; -1 = petition_fee [S]
  int visa_months = 36;            ///< length of a work visa
  int max_renewals = 1;            ///< renewals allowed before permanent residency is required
  int grace_months = 2;            ///< months a researcher without job or status may stay
  int student_visa_months = 12;    ///< post-study work permission for graduates from abroad
  int residency_after_months = 12; ///< a sponsoring employer files for residency after this tenure; -1 never [S]
  int extension_months = 12;       ///< a work visa is extended by this while residency is pending [P4][S]
  double initial_pr_share = 0.5;   ///< share of foreign researchers here holding PR at start
  double third_region_share = 0.0; ///< share of forced departures from here who go to a third region, not home
  bool open_residence = false;     ///< forced departures may settle here (with permanent residence)
  // Policy acting on firms CONTROLLED by this region
  double compute_multiplier = 1.0;   ///< export controls: compute per dollar, 1 = none
  bool exempt_offices_abroad = true; ///< offices outside this region escape the multiplier [A20]
  double service_penalty = 0.0;      ///< productivity lost to service bans [A15]
  // Education pipeline (this region as origin)
  double entrants_per_month = 0.0;   ///< graduates entering the AI field per month (before propensity)
  double ai_propensity = 1.0;        ///< share who see AI as beneficial and enter [A4]
  std::vector<Share> study_abroad;   ///< destination -> share of entrants educated there
  double home_pull = 0.0;            ///< utility added to h_i of this origin's researchers working here [A24]
  // Talent (this region as origin): ln θ ~ Normal(mu, sigma)
  double talent_mu = 0.0;
  double talent_sigma = 1.0;
};

enum class FirmKind : uint8_t { FrontierLab, BigTech, Startup, Academia };
enum class RetentionRule : uint8_t { None, Match, Bertrand };
enum class PayRule : uint8_t { Posted, Valuation };

struct PayPolicy {
  PayRule rule = PayRule::Posted;      ///< posted schedule, or bids from the researcher's value to the firm
  double valuation_share = 0.5;        ///< valuation: the share of the value offered [S]
  Dist base = Dist::constant(150000);  ///< annual USD pay for θ = 1 (before region pay level); valuation: the floor
  double elasticity = 1.0;             ///< pay ∝ θ^elasticity
  double premium = 0.0;                ///< poaching premium on outside offers
  Dist max_package = Dist::constant(1e8);  ///< cap on any annual package [A7]
  double annual_raise = 0.03;          ///< yearly raise on the tenure anniversary
};

struct HiringPolicy {
  bool unlimited = false;          ///< no capacity limit (textbook firms)
  double search_intensity = 1.0;   ///< weight on vacancies when random offers pick a firm
  int64_t scouting_list = 0;       ///< targeted offers per scouting round [A10]
  double scouting_rate = 0.0;      ///< monthly probability of a scouting round
  std::vector<std::string> rivals; ///< scout only staff of these firms (empty = everyone)
  Location rivals_loc;
};

struct RetentionPolicy {
  RetentionRule rule = RetentionRule::None;
  double max_raise = 0.5;  ///< counteroffers pay at most (1 + max_raise) × standard pay
};

struct VisaSponsorship {
  bool sponsors = true;
  double max_fee = 1e9;    ///< largest petition fee the firm will pay
};

/// A named firm (count 1) or a generated group of firms (count > 1, named NAME#i).
struct FirmSpec {
  std::string name;
  Location loc;
  int64_t count = 1;
  FirmKind kind = FirmKind::Startup;
  std::string hq;
  std::string controlled_by;       ///< defaults to hq
  std::vector<Share> offices;      ///< region -> share of hiring (default: hq 1.0)
  Dist headcount = Dist::constant(100);  ///< initial and target headcount
  double budget_per_head = 1e6;    ///< annual AI budget per initial researcher, USD
  double budget_growth = 0.0;      ///< yearly growth of the budget (a trend; 0 = none) [S]
  double compute_share = 0.5;      ///< share of budget spent on compute
  Dist productivity = Dist::constant(1.0);
  double prestige = 0.0;
  PayPolicy pay;
  HiringPolicy hiring;
  RetentionPolicy retention;
  VisaSponsorship visa;
};

struct UtilityWeights {
  double pay = 1.0;          ///< a: weight on ln(comp)
  double compute = 0.1;      ///< mean of c_i, weight on ln(1 + compute per researcher)
  double compute_sd = 0.05;  ///< heterogeneity of c_i (normal, truncated at 0)
  double prestige = 0.5;     ///< g
  double home = 0.3;         ///< mean of h_i, home bias
  double home_sd = 0.2;      ///< heterogeneity of h_i (normal)
  double visa_risk = 2.0;    ///< v: weight on the chance a move fails for lack of a visa
  double wait_cost = 0.02;   ///< visa_risk cost per month of processing
  double move_cost = 0.1;    ///< m
  double noise = 0.1;        ///< scale of the Gumbel noise ε (0 = deterministic)
};

struct MarketParams {
  double lambda0 = 0.2;     ///< monthly offer probability without a job
  double lambda1 = 0.02;    ///< monthly offer probability with a job
  double separation = 0.005;  ///< monthly probability of losing the job (δ)
  double local_share = 0.0;   ///< share of random offers from offices in the researcher's own region [S]
  UtilityWeights utility;
  double elite_share = 0.001;     ///< elite tier: top 0.1% by talent
  double top_share = 0.07222;     ///< top tier: 21,668 / 300,000 [A2][P1]
};

/// Realised talent θ(t) = θ · e(career months): e rises linearly from `start` at entry to 1
/// after `months` months; tiers, output and pay use θ(t) [S].
struct ExperienceParams {
  bool enabled = false;
  double start = 0.6;   ///< e at entry [S]
  int64_t months = 60;  ///< months to full productivity [S]
};

struct PopulationParams {
  int64_t researchers = 300000;    ///< [P1]
  /// The population the absolute counts of a scenario file describe (firm headcounts and
  /// entrants: kScaledCounts in sim/config/scenario.cpp); 0 = the population.researchers that
  /// file (or its base) writes. With scale_market the scenario loader scales those counts by
  /// researchers / reference ("scale is one knob", docs/model.md) and then sets this to
  /// `researchers`: the resolved counts describe the resolved population.
  int64_t reference_researchers = 0;
  bool scale_market = true;        ///< scale the labour market with the population (see above)
  std::vector<Share> origin_shares;  ///< origin -> share of researchers
  std::vector<Share> abroad;       ///< origin -> share working outside the origin region at start
  std::vector<Share> abroad_destinations;  ///< region -> weight as destination of those abroad
  double employment_rate = 0.9;    ///< share employed at start
  double sorting_noise = 0.5;      ///< sd of noise on ln θ when sorting talent into firms at start
  int min_age = 22;                ///< entrants are 22–30 [A11]
  int max_entry_age = 30;
  int retirement_age = 65;
  double exit_rate = 0.002;        ///< monthly probability of leaving the field before retirement
  double fixed_talent = 0.0;       ///< if > 0, every researcher has θ = fixed_talent (textbook runs)
  bool ageing = true;              ///< age researchers and retire them
  ExperienceParams experience;
  /// Selection on talent of who studies abroad (entrants) and who works abroad at the start:
  /// the correlation of the standardised ln θ with the propensity to go (probit; 0 = none) [fit].
  double abroad_selection = 0.0;
  /// Entrants keep the population and its origin shares in steady state: each origin's
  /// entrants_per_month is derived as researchers × share / (mean career months × ai_propensity)
  /// (steady_entry_months()), replacing the values given.
  bool steady_entry = false;
};

/// Mean months a researcher stays in the field: entry ages uniform over [min_age, max_entry_age]
/// (in months), a monthly exit probability and retirement (if ageing). 0 if unbounded.
double mean_career_months(const PopulationParams& p);

struct ProductionParams {
  double alpha = 0.8;   ///< returns to summed talent
  double beta = 0.2;    ///< returns to compute
  double scale = 1e-3;  ///< papers per month per unit of A·(Σθ)^α·C^β
  double gpu_cost = 25000;  ///< USD per GPU-equivalent per year
  double output_value = 0.0;  ///< P: USD a paper is worth to the firm (valuation pay) [fit]
};

enum class EventLogLevel : uint8_t { None, Top, All };

struct OutputParams {
  EventLogLevel event_log = EventLogLevel::All;  ///< which researchers' moves/raises/visa decisions to log
  std::vector<int64_t> snapshots;  ///< steps at which every researcher's state is written
  int chunk_rows = 64;             ///< rows per HDF5 chunk of the time series
  int max_cohort_years = 10;       ///< stay-rate horizons recorded
  int compression = 1;             ///< deflate level of the run file's datasets (shuffle + gzip; 0 = none)
};

struct RunParams {
  uint64_t seed = 1;
  std::string start = "2025-07";
  int64_t steps = 120;
  /// Months simulated before step 0 and not recorded, so the start is the model's own steady
  /// state at the start month's policies (MODEL.md §4, "The start state"); 0 = none [S].
  int64_t spin_up = 0;
};

enum class ValidationKind : uint8_t { None, BurdettMortensen, PostelVinayRobin, Markov, ResidencyQueue, Stationarity };

struct ValidationParams {
  ValidationKind kind = ValidationKind::None;
  int64_t burn_in = 200;
  int64_t window = 100;
  double z = 4.0;   ///< tolerance multiplier on the standard error (≈ 1e-4 false alarm per check)
  int64_t replicates = 1;  ///< stationarity: independent runs (seeds run.seed + k) averaged
};

enum class EventType : uint8_t {
  Set, Raid, BudgetShock, ComputeShock, OfficeOpen, OfficeClose, ServiceRestriction, ExportControl,
  RelocationOrder
};

/// One dated entry of the scenario timeline.
struct Event {
  EventType type = EventType::Set;
  When at;
  Location loc;
  bool valid = true;  ///< false when its type is missing or unknown (reported once; fields not checked)
  // set
  std::string key;
  std::string value;
  // raid / shocks / offices / relocation
  std::string firm;
  std::vector<std::string> rivals;
  int64_t offers = 0;
  double package = 0.0;
  double factor = 1.0;
  std::string region;      ///< office region, controlling region, or relocation source
  std::vector<Share> to;   ///< relocation destinations (firm offices)
  double share = 0.0;      ///< office hiring share
  double penalty = 0.0;
  double multiplier = 1.0;
  bool exempt_offices_abroad = true;
};

struct Params {
  RunParams run;
  std::vector<RegionParams> regions;
  PopulationParams population;
  MarketParams market;
  ProductionParams production;
  std::vector<FirmSpec> firms;
  std::vector<Event> events;
  OutputParams output;
  ValidationParams validation;

  int region_index(const std::string& name) const;  ///< -1 if unknown
  int start_month_index() const;                    ///< year*12 + month-1 of run.start
};

/// Parse "YYYY-MM" into year*12 + month-1; returns -1 if malformed.
int parse_month(const std::string& s);
std::string format_month(int month_index);

/// Loads params from a config tree; all problems go to `d`. Applies defaults for
/// missing keys, rejects unknown keys, checks ranges and every cross-reference.
Params load_params(const cfg::Node& root, cfg::Diagnostics& d);

/// The resolved configuration as a tree (for metadata and `talentsim config`).
cfg::Node dump_params(const Params& p);

/// Markdown table of every key: path, type, default (**required** for keys a scenario must
/// give), allowed values, meaning. With a pattern: only the keys whose path contains it
/// (case-insensitive); "" when none does.
std::string describe_keys(const std::string& pattern = "");
/// Paths (as describe_keys writes them) of the keys a scenario must give.
std::vector<std::string> required_keys();

/// Default world used when a scenario names no regions.
std::vector<RegionParams> default_regions();

const char* to_string(FirmKind k);
const char* to_string(RetentionRule r);
const char* to_string(PayRule r);
const char* to_string(LotteryRule r);
const char* to_string(CapExemptTalent t);
const char* to_string(EventType t);

}  // namespace ts::model

#include "sim/config/params.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>

#include "sim/config/schema.hpp"

namespace ts::model {

namespace schema {

std::string fmt_num(double x) {
  if (x == std::floor(x) && std::fabs(x) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", x);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  // shortest representation that round-trips
  for (int prec = 6; prec <= 17; ++prec) {
    char b2[32];
    std::snprintf(b2, sizeof b2, "%.*g", prec, x);
    if (std::strtod(b2, nullptr) == x) return b2;
  }
  return buf;
}

bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (*b == '+') ++b;
  auto r = std::from_chars(b, e, out);
  return r.ec == std::errc() && r.ptr == e && std::isfinite(out);
}

bool parse_int(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (*b == '+') ++b;
  auto r = std::from_chars(b, e, out);
  if (r.ec == std::errc() && r.ptr == e) return true;
  // allow integral values written as 1e6 or 300000.0
  double d = 0;
  if (parse_double(s, d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
    out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

bool parse_bool(const std::string& s, bool& out) {
  if (s == "true" || s == "True" || s == "yes") return out = true, true;
  if (s == "false" || s == "False" || s == "no") return out = false, true;
  return false;
}

void Loader::dist(const char* key, Dist& x, double lo, double hi, const char*) {
  const cfg::Node* n = take(key);
  if (!n) return;
  if (n->kind == cfg::Node::Kind::Scalar) {
    double v = 0;
    if (!parse_double(n->scalar, v) || v < lo || v > hi) {
      expect(n, key, "a number" + range(lo, hi) + " or a distribution {dist: ...}");
      return;
    }
    x = Dist::constant(v);
    return;
  }
  if (n->kind != cfg::Node::Kind::Map) {
    expect(n, key, "a number or a distribution {dist: uniform|normal|lognormal|bm_equilibrium, ...}");
    return;
  }
  Loader sub(n, cfg::join_path(path_, key), d_);
  static const EnumName<Dist::Kind> kinds[] = {{Dist::Kind::Constant, "constant"},
                                               {Dist::Kind::Uniform, "uniform"},
                                               {Dist::Kind::Normal, "normal"},
                                               {Dist::Kind::LogNormal, "lognormal"},
                                               {Dist::Kind::BMEquilibrium, "bm_equilibrium"}};
  Dist r;
  if (!n->find("dist")) sub.error("a distribution needs 'dist: uniform|normal|lognormal|bm_equilibrium|constant'");
  sub.choice("dist", r.kind, kinds, "");
  const double inf = std::numeric_limits<double>::max();
  switch (r.kind) {
    case Dist::Kind::Constant: sub.num("value", r.a, lo, hi, ""); break;
    case Dist::Kind::Uniform:
      sub.num("min", r.a, lo, hi, "");
      sub.num("max", r.b, lo, hi, "");
      if (r.b < r.a) sub.error("uniform distribution needs min <= max");
      break;
    case Dist::Kind::Normal:
      sub.num("mean", r.a, -inf, inf, "");
      sub.num("sd", r.b, 0, inf, "");
      break;
    case Dist::Kind::LogNormal:
      sub.num("median", r.a, 1e-300, inf, "");
      sub.num("sigma", r.b, 0, 20, "");
      break;
    case Dist::Kind::BMEquilibrium: sub.num("p", r.a, 1e-300, inf, ""); break;
  }
  sub.flag("stratified", r.stratified, "");
  sub.finish();
  x = r;
}

void Dumper::dist(const char* key, const Dist& x, double, double, const char*) {
  if (x.kind == Dist::Kind::Constant && !x.stratified) {
    out.map.emplace_back(key, scalar(fmt_num(x.a)));
    return;
  }
  cfg::Node m;
  m.kind = cfg::Node::Kind::Map;
  auto add = [&](const char* k, const std::string& v, bool q = false) { m.map.emplace_back(k, scalar(v, q)); };
  switch (x.kind) {
    case Dist::Kind::Constant: add("dist", "constant"); add("value", fmt_num(x.a)); break;
    case Dist::Kind::Uniform: add("dist", "uniform"); add("min", fmt_num(x.a)); add("max", fmt_num(x.b)); break;
    case Dist::Kind::Normal: add("dist", "normal"); add("mean", fmt_num(x.a)); add("sd", fmt_num(x.b)); break;
    case Dist::Kind::LogNormal: add("dist", "lognormal"); add("median", fmt_num(x.a)); add("sigma", fmt_num(x.b)); break;
    case Dist::Kind::BMEquilibrium: add("dist", "bm_equilibrium"); add("p", fmt_num(x.a)); break;
  }
  if (x.stratified) add("stratified", "true");
  out.map.emplace_back(key, std::move(m));
}

}  // namespace schema

using schema::EnumName;
constexpr double kInf = std::numeric_limits<double>::max();
constexpr double kMoney = 1e13;  // no annual amount in USD is larger than this

const EnumName<FirmKind> kFirmKinds[] = {{FirmKind::FrontierLab, "frontier_lab"},
                                         {FirmKind::BigTech, "big_tech"},
                                         {FirmKind::Startup, "startup"},
                                         {FirmKind::Academia, "academia"}};
const EnumName<LotteryRule> kLotteryRules[] = {{LotteryRule::Uniform, "uniform"}, {LotteryRule::WageWeighted, "wage_weighted"}};
const EnumName<CapExemptTalent> kCapExemptTalent[] = {
    {CapExemptTalent::None, "none"}, {CapExemptTalent::Top, "top"}, {CapExemptTalent::Elite, "elite"}};
const EnumName<RetentionRule> kRetention[] = {
    {RetentionRule::None, "none"}, {RetentionRule::Match, "match"}, {RetentionRule::Bertrand, "bertrand"}};
const EnumName<PayRule> kPayRules[] = {{PayRule::Posted, "posted"}, {PayRule::Valuation, "valuation"}};
const EnumName<EventLogLevel> kLogLevels[] = {
    {EventLogLevel::None, "none"}, {EventLogLevel::Top, "top"}, {EventLogLevel::All, "all"}};
const EnumName<ValidationKind> kValidation[] = {{ValidationKind::None, "none"},
                                                {ValidationKind::BurdettMortensen, "burdett_mortensen"},
                                                {ValidationKind::PostelVinayRobin, "postel_vinay_robin"},
                                                {ValidationKind::Markov, "markov"},
                                                {ValidationKind::ResidencyQueue, "residency_queue"},
                                                {ValidationKind::Stationarity, "stationarity"}};
const EnumName<EventType> kEventTypes[] = {{EventType::Set, "set"},
                                           {EventType::Raid, "raid"},
                                           {EventType::BudgetShock, "budget_shock"},
                                           {EventType::ComputeShock, "compute_shock"},
                                           {EventType::OfficeOpen, "office_open"},
                                           {EventType::OfficeClose, "office_close"},
                                           {EventType::ServiceRestriction, "service_restriction"},
                                           {EventType::ExportControl, "export_control"},
                                           {EventType::RelocationOrder, "relocation_order"}};

template <class E, std::size_t N>
static const char* name_of(const EnumName<E> (&names)[N], E v) {
  for (const auto& e : names)
    if (e.value == v) return e.name;
  return "?";
}
const char* to_string(FirmKind k) { return name_of(kFirmKinds, k); }
const char* to_string(RetentionRule r) { return name_of(kRetention, r); }
const char* to_string(PayRule r) { return name_of(kPayRules, r); }
const char* to_string(LotteryRule r) { return name_of(kLotteryRules, r); }
const char* to_string(CapExemptTalent t) { return name_of(kCapExemptTalent, t); }
const char* to_string(EventType t) { return name_of(kEventTypes, t); }

// ----------------------------------------------------------------- descriptions
template <class V>
void describe(V& v, RunParams& p) {
  v.num("seed", p.seed, 0, 9.2e18, "random seed; the same seed and scenario give identical results");
  v.text("start", p.start, "calendar month of step 0, YYYY-MM");
  v.num("steps", p.steps, 0, 1e6, "number of monthly steps (horizon)");
  v.num("spin_up", p.spin_up, 0, 1200,
        "months simulated before step 0 and not recorded, so the run starts in the model's steady state");
}

template <class V>
void describe(V& v, VisaRule& p) {
  v.num("approval", p.approval, 0, 1, "probability a work-visa petition is approved");
  v.num("processing_months", p.processing_months, 0, 120, "months from petition to decision");
  v.flag("capped", p.capped, "petitions count against the destination's annual cap (lottery when over)");
  v.num("renewal", p.renewal, 0, 1, "probability an expiring visa is renewed");
  v.num("pr_rate", p.pr_rate, 0, 1,
        "yearly rate at which the residency queue grants a pending application (long queues for CN- and IN-born: low "
        "rates) [P4]");
}

template <class V>
void describe(V& v, VisaOverride& p) {
  describe(v, p.rule);
}

template <class V>
void describe(V& v, WageLevels& p) {
  v.num("level_2", p.level_2, 0, kMoney, "annual USD pay from which an offer is at wage level II (2 entries)");
  v.num("level_3", p.level_3, 0, kMoney, "annual USD pay from which an offer is at wage level III (3 entries)");
  v.num("level_4", p.level_4, 0, kMoney, "annual USD pay from which an offer is at wage level IV (4 entries)");
}

template <class V>
void describe(V& v, RegionParams& p) {
  v.num("pay_level", p.pay_level, 0, 100, "multiplies firms' base pay for offices in this region");
  v.num("unemployed_income", p.unemployed_income, 1, kMoney, "annual USD value of being without a job here (outside option)");
  v.obj("visa", p.visa, "default visa rule for foreign researchers coming here");
  v.named_map("visa_by_origin", p.visa_by_origin, "visa rules for one origin (fields given replace the default)");
  v.num("annual_cap", p.annual_cap, -1, 1e9, "capped visas approved per cap year; -1 = unlimited [P2]");
  v.num("cap_year_start", p.cap_year_start, 1, 12, "calendar month in which the cap year starts");
  v.num("lottery_selection", p.lottery_selection, 0, 1,
        "chance an entry is selected in the economy-wide lottery (AI researchers are too few to move it); a petition "
        "has one entry, or under lottery wage_weighted one per wage level, and is selected with 1 − (1 − this)^entries [P2][P7]");
  v.choice("lottery", p.lottery, kLotteryRules,
           "cap lottery: uniform (one entry per petition) or wage_weighted (a petition at wage level I, II, III or IV "
           "of the offered pay enters 1, 2, 3 or 4 times; DHS rule effective 2026-02-27, FY2027 season) [P7]");
  v.obj("wage_levels", p.wage_levels, "wage_weighted lottery: the pay thresholds of wage levels II, III and IV [P7][S]");
  v.choice("cap_exempt_talent", p.cap_exempt_talent, kCapExemptTalent,
           "whose petitions skip the cap and its lottery by their talent, as with a visa for extraordinary ability "
           "(the uncapped O-1 in the US): none, top (the top tier and the elite) or elite [S]");
  v.num("petition_fee", p.petition_fee, 0, kMoney, "USD fee per new work-visa petition, paid by the firm [P3]");
  v.num("talent_petition_fee", p.talent_petition_fee, -1, kMoney,
        "USD fee per new petition of a researcher cap_exempt_talent exempts (the O-1 in the US, which the $100k "
        "H-1B fee [P3] does not reach); -1 = petition_fee [S]");
  v.num("visa_months", p.visa_months, 1, 600, "length of a work visa in months [P4]");
  v.num("max_renewals", p.max_renewals, 0, 100, "renewals allowed [P4]");
  v.num("grace_months", p.grace_months, 0, 120, "months a researcher may stay without a job or status");
  v.num("student_visa_months", p.student_visa_months, 0, 120,
        "post-study work months: graduates educated here may work this long before needing a work visa");
  v.num("residency_after_months", p.residency_after_months, -1, 1200,
        "a sponsoring employer files for the permanent residency of a work-visa holder after this many months on its "
        "staff; the application lapses with the job; -1 = employers never file [S]");
  v.num("extension_months", p.extension_months, 1, 120,
        "while a residency application is pending, an expiring work visa is extended by this many months (as US law "
        "does for pending green cards) [P4][S]");
  v.num("initial_pr_share", p.initial_pr_share, 0, 1, "share of foreign researchers here with permanent residency at start");
  v.num("third_region_share", p.third_region_share, 0, 1, "share of researchers forced to leave this region who go to a third region (one with open_residence) instead of home");
  v.flag("open_residence", p.open_residence, "researchers forced to leave another region may settle here, with permanent residence");
  v.num("compute_multiplier", p.compute_multiplier, 0, 10, "export controls: compute per dollar for firms controlled by this region [A20]");
  v.flag("exempt_offices_abroad", p.exempt_offices_abroad, "offices outside this region escape compute_multiplier [A20]");
  v.num("service_penalty", p.service_penalty, 0, 1, "productivity lost by firms controlled by this region to service bans [A15]");
  v.num("entrants_per_month", p.entrants_per_month, 0, 1e8, "graduates of this origin entering the field per month, before ai_propensity");
  v.num("ai_propensity", p.ai_propensity, 0, 1, "share of graduates who see AI as beneficial and enter [A4]");
  v.shares("study_abroad", p.study_abroad, 0, 1, "destination region -> share of entrants educated there");
  v.num("home_pull", p.home_pull, -1e3, 1e3, "added to the home bias h_i of researchers of this origin, for working here; a `set` shifts it for everyone at once (return incentives) [A24]");
  v.num("talent_mu", p.talent_mu, -20, 20, "mean of ln θ for researchers of this origin");
  v.num("talent_sigma", p.talent_sigma, 0, 10, "sd of ln θ for researchers of this origin");
}

template <class V>
void describe(V& v, PayPolicy& p) {
  v.choice("rule", p.rule, kPayRules,
           "posted: pay = base × region pay level × θ^elasticity (× 1 + premium for the employed); valuation: the "
           "firm bids valuation_share of the researcher's value to it, V = 12 × production.output_value × region pay "
           "level × ∂Y/∂θ × θ(t), never below base × pay level, and counters up to V (docs/model.md, pay)");
  v.num("valuation_share", p.valuation_share, 0, 1, "valuation: the share of the researcher's value a firm offers [S]");
  v.dist("base", p.base, 0, kMoney, "annual USD pay at θ = 1 before the region's pay level (valuation: the floor of any offer) [P5]");
  v.num("elasticity", p.elasticity, 0, 10, "posted: pay grows as θ^elasticity");
  v.num("premium", p.premium, 0, 100, "posted: poaching premium on offers to researchers employed elsewhere");
  v.dist("max_package", p.max_package, 0, kMoney, "cap on any annual package, USD, offers and counteroffers alike [A7]");
  v.num("annual_raise", p.annual_raise, -0.5, 5, "raise on each tenure anniversary");
}

template <class V>
void describe(V& v, HiringPolicy& p) {
  v.flag("unlimited", p.unlimited, "no capacity limit: hires everyone who accepts (textbook firms)");
  v.num("search_intensity", p.search_intensity, 0, 1e6, "weight on vacancies when a random offer picks a firm");
  v.num("scouting_list", p.scouting_list, 0, 1e6, "targeted offers per scouting round [A10]");
  v.num("scouting_rate", p.scouting_rate, 0, 1, "monthly probability of a scouting round");
  v.names("rivals", p.rivals, p.rivals_loc, "scout only staff of these firms (empty: everyone)");
}

template <class V>
void describe(V& v, RetentionPolicy& p) {
  v.choice("rule", p.rule, kRetention, "counteroffer rule: none (Burdett–Mortensen), match, bertrand (Postel-Vinay–Robin)");
  v.num("max_raise", p.max_raise, 0, 1e6, "counteroffers pay at most (1 + max_raise) × standard pay, within max_package");
}

template <class V>
void describe(V& v, VisaSponsorship& p) {
  v.flag("sponsors", p.sponsors, "whether the firm sponsors work visas");
  v.num("max_fee", p.max_fee, 0, kMoney, "largest petition fee the firm will pay, USD");
}

template <class V>
void describe(V& v, FirmSpec& p) {
  v.text("name", p.name, "firm name (a group's members are NAME#1, NAME#2, …)");
  v.num("count", p.count, 1, 1e7, "number of firms generated from this entry");
  v.choice("kind", p.kind, kFirmKinds, "kind of employer");
  v.text("hq", p.hq, "region of headquarters");
  v.text("controlled_by", p.controlled_by, "region of control (export controls and service bans act on it); default hq");
  v.shares("offices", p.offices, 0, kInf, "region -> share of hiring (default: hq only) [A17–A19]");
  v.dist("headcount", p.headcount, 0, 1e8,
         "planned number of researchers at the start (the firm's wage budget is what this headcount costs at its "
         "pay; its plan then follows the budget)");
  v.num("budget_per_head", p.budget_per_head, 0, kMoney,
        "annual AI budget per planned researcher at the start, USD: compute_share of it buys compute [A9]");
  v.num("budget_growth", p.budget_growth, -1, 10,
        "yearly growth of the budget, wages and compute alike (a trend; 0 = none) [S]");
  v.num("compute_share", p.compute_share, 0, 1, "share of the budget spent on compute");
  v.dist("productivity", p.productivity, 0, 1e6, "research productivity A (PVR: the firm type p)");
  v.num("prestige", p.prestige, -100, 100, "prestige in researchers' utility");
  v.obj("pay", p.pay, "compensation policy");
  v.obj("hiring", p.hiring, "hiring policy");
  v.obj("retention", p.retention, "counteroffer policy [A23]");
  v.obj("visa", p.visa, "visa sponsorship");
}

template <class V>
void describe(V& v, UtilityWeights& p) {
  v.num("pay", p.pay, 0, 1e3, "a: weight on ln(annual compensation)");
  v.num("compute", p.compute, 0, 1e3, "mean weight c_i on ln(1 + compute per researcher) [A25]");
  v.num("compute_sd", p.compute_sd, 0, 1e3, "sd of c_i across researchers (normal, truncated at 0)");
  v.num("prestige", p.prestige, -1e3, 1e3, "g: weight on firm prestige");
  v.num("home", p.home, -1e3, 1e3, "mean home bias h_i for working in the origin region [A24]");
  v.num("home_sd", p.home_sd, 0, 1e3, "sd of h_i across researchers");
  v.num("visa_risk", p.visa_risk, 0, 1e3, "v: weight on the chance a move fails for lack of a visa");
  v.num("wait_cost", p.wait_cost, 0, 1e3, "visa risk added per month of processing");
  v.num("move_cost", p.move_cost, 0, 1e3, "m: cost of any move");
  v.num("noise", p.noise, 0, 1e3, "scale of the Gumbel taste shock ε; 0 = deterministic");
}

template <class V>
void describe(V& v, MarketParams& p) {
  v.num("lambda0", p.lambda0, 0, 1, "monthly probability of a random offer without a job (λ0)");
  v.num("lambda1", p.lambda1, 0, 1, "monthly probability of a random offer with a job (λ1)");
  v.num("separation", p.separation, 0, 1, "monthly probability of losing the job (δ)");
  v.num("local_share", p.local_share, 0, 1,
        "share of random offers drawn among the offices in the researcher's own region (by vacancies); the rest "
        "among all offices worldwide (international recruiting) [S]");
  v.obj("utility", p.utility, "weights of the decision rule (docs/model.md, decisions)");
  v.num("elite_share", p.elite_share, 0, 1, "elite tier: this top share by talent");
  v.num("top_share", p.top_share, 0, 1, "top tier: this top share by talent [A2]");
}

template <class V>
void describe(V& v, ExperienceParams& p) {
  v.flag("enabled", p.enabled, "realised talent grows with experience (false: θ(t) = θ, the textbook reductions)");
  v.num("start", p.start, 0, 1, "realised talent at entry, as a share of θ [S]");
  v.num("months", p.months, 1, 1200, "career months to full realised talent (linear rise) [S]");
}

template <class V>
void describe(V& v, PopulationParams& p) {
  v.num("researchers", p.researchers, 0, 4e9, "researchers at step 0 [P1]");
  v.num("reference_researchers", p.reference_researchers, 0, 4e9,
        "the population that firm headcounts and entrants_per_month written in a scenario file describe; 0 = the "
        "population.researchers written in that file (or in the file it extends; 300000 [P1] if none). With "
        "scale_market, those counts are multiplied by researchers / reference_researchers. The resolved "
        "configuration shows the scaled counts and reference_researchers = researchers");
  v.flag("scale_market", p.scale_market,
         "scale the labour market with the population (docs/model.md, scale): firm headcounts (so budgets, which are per "
         "head) and entrants per month; false = change the number of researchers only");
  v.shares("origin_shares", p.origin_shares, 0, 1, "origin region -> share of researchers (sums to 1) [A1]");
  v.shares("abroad", p.abroad, 0, 1, "origin -> share working outside the origin region at start");
  v.shares("abroad_destinations", p.abroad_destinations, 0, kInf, "region -> weight as a destination for those abroad");
  v.num("employment_rate", p.employment_rate, 0, 1, "share employed at step 0");
  v.num("sorting_noise", p.sorting_noise, 0, 100, "sd of noise on ln θ when sorting talent into firms at start");
  v.num("min_age", p.min_age, 14, 100, "youngest entrant age [A11]");
  v.num("max_entry_age", p.max_entry_age, 14, 100, "oldest entrant age [A11]");
  v.num("retirement_age", p.retirement_age, 14, 150, "researchers leave at this age");
  v.num("exit_rate", p.exit_rate, 0, 1, "monthly probability of leaving the field before retirement");
  v.num("fixed_talent", p.fixed_talent, 0, 1e6, "if > 0, every researcher has θ = fixed_talent (textbook reductions)");
  v.flag("ageing", p.ageing, "age researchers and retire them");
  v.num("abroad_selection", p.abroad_selection, -1, 1,
        "selection on talent of who studies abroad and who works abroad at the start: correlation of the "
        "standardised ln θ with the propensity to go (probit; the shares abroad are kept) [fit]");
  v.flag("steady_entry", p.steady_entry,
         "derive every origin's entrants_per_month so that entry keeps the population and its origin shares in "
         "steady state: researchers × share / (mean career months × ai_propensity)");
  v.obj("experience", p.experience,
        "realised talent θ(t) = θ · e(career months), rising from `start` to 1 over `months`; tiers, output and pay "
        "use θ(t) (docs/model.md)");
}

template <class V>
void describe(V& v, ProductionParams& p) {
  v.num("alpha", p.alpha, 0, 2, "α: returns to summed talent");
  v.num("beta", p.beta, 0, 2, "β: returns to compute");
  v.num("scale", p.scale, 0, 1e9, "papers per month per unit of A·(Σθ)^α·C^β");
  v.num("gpu_cost", p.gpu_cost, 1, kMoney, "USD per GPU-equivalent per year");
  v.num("output_value", p.output_value, 0, kMoney,
        "P: USD a paper is worth to the firm that produces it; a researcher's value to a firm under pay.rule valuation "
        "is 12 × P × region pay level × ∂Y/∂θ × θ(t) a year [fit]");
}

template <class V>
void describe(V& v, OutputParams& p) {
  v.choice("event_log", p.event_log, kLogLevels, "log moves, raises and visa decisions of: all researchers, top tier only, or none");
  v.steps("snapshots", p.snapshots, "steps at which every researcher's state is written");
  v.num("chunk_rows", p.chunk_rows, 1, 1e6, "time-series rows per HDF5 chunk");
  v.num("max_cohort_years", p.max_cohort_years, 1, 100, "longest stay-rate horizon recorded, years");
  v.num("compression", p.compression, 0, 9,
        "deflate level of the run file's datasets, with the shuffle filter (0 = none, 1 = fastest, 9 = smallest)");
}

template <class V>
void describe(V& v, ValidationParams& p) {
  v.choice("kind", p.kind, kValidation, "which closed form `talentsim validate` checks");
  v.num("burn_in", p.burn_in, 0, 1e7, "steps before measuring");
  v.num("window", p.window, 1, 1e7, "steps measured");
  v.num("z", p.z, 0.5, 100, "tolerance = z × standard error");
  v.num("replicates", p.replicates, 1, 1000, "stationarity: runs with seeds run.seed + k, averaged");
}

template <class V>
void describe(V& v, Event& e) {
  if constexpr (V::loading) {
    // The type says which fields an event has: without a valid one, report that alone
    // (not every other field as unknown, nor the fields of a 'set' event as missing).
    const cfg::Node* t = v.peek("type");
    bool known = false;
    for (const auto& n : kEventTypes) known = known || (t && t->is_scalar() && t->scalar == n.name);
    if (!known) {
      e.valid = false;
      if (v.is_null()) v.error("expected an event: a mapping with 'type', 'at' and the type's fields");
      else if (!v.is_bad() && (!t || t->is_null())) {
        std::string all;
        for (const auto& n : kEventTypes) all += (all.empty() ? "" : ", ") + std::string(n.name);
        v.error("missing required key 'type' (one of " + all + ")");
      }
      v.choice("type", e.type, kEventTypes, "what happens");  // reports an unknown type
      v.when("at", e.at, "month YYYY-MM or step number");
      v.ignore_rest();
      return;
    }
  }
  v.choice("type", e.type, kEventTypes, "what happens");
  v.when("at", e.at, "month YYYY-MM or step number");
  switch (e.type) {
    case EventType::Set:
      v.text("key", e.key, "parameter key path, as for --set");
      v.text("value", e.value, "new value (YAML)");
      break;
    case EventType::Raid:
      v.text("firm", e.firm, "raiding firm [A6]");
      v.names("rivals", e.rivals, "firms whose staff are targeted");
      v.num("offers", e.offers, 1, 1e7, "number of offers, to the rivals' most talented staff");
      v.num("package", e.package, 0, kMoney, "annual package offered, USD [A7]");
      break;
    case EventType::BudgetShock:
    case EventType::ComputeShock:
      v.text("firm", e.firm, "firm, or group name for all its members");
      v.num("factor", e.factor, 0, 1e6, "multiplies the budget / compute");
      break;
    case EventType::OfficeOpen:
      v.text("firm", e.firm, "firm, or group name");
      v.text("region", e.region, "office region");
      v.num("share", e.share, 0, kInf, "share of hiring at the new office");
      break;
    case EventType::OfficeClose:
      v.text("firm", e.firm, "firm, or group name");
      v.text("region", e.region, "office region closed; its staff lose their jobs");
      break;
    case EventType::ServiceRestriction:
      v.text("region", e.region, "controlling region whose firms are cut off [A15]");
      v.num("penalty", e.penalty, 0, 1, "share of productivity lost");
      break;
    case EventType::ExportControl:
      v.text("region", e.region, "controlling region whose firms are targeted [A20]");
      v.num("multiplier", e.multiplier, 0, 10, "compute per dollar for those firms");
      v.flag("exempt_offices_abroad", e.exempt_offices_abroad, "whether their offices abroad are exempt");
      break;
    case EventType::RelocationOrder:
      v.text("firm", e.firm, "firm ordering its staff to move [A22]");
      v.text("region", e.region, "office region whose staff must move");
      v.shares("to", e.to, 0, kInf, "destination offices -> weight");
      break;
  }
}

template <class V>
void describe(V& v, Params& p) {
  v.obj("run", p.run, "run settings");
  v.named_map("regions", p.regions, "regions by name (default: US, CN, EU, UK, CA, IN, ROW)");
  v.obj("population", p.population, "initial population and demography");
  v.obj("market", p.market, "search, separation and the decision rule");
  v.obj("production", p.production, "research production");
  v.list("firms", p.firms, "named firms and generated groups");
  v.list("events", p.events, "dated scenario timeline");
  v.obj("output", p.output, "what is written to HDF5");
  v.obj("validation", p.validation, "textbook validation settings");
}

// ----------------------------------------------------------------- helpers
int parse_month(const std::string& s) {
  int y = 0, m = 0;
  char dash = 0, extra = 0;
  if (std::sscanf(s.c_str(), "%4d%c%2d%c", &y, &dash, &m, &extra) != 3 || dash != '-' || s.size() != 7) return -1;
  if (y < 1900 || y > 2999 || m < 1 || m > 12) return -1;
  return y * 12 + (m - 1);
}

std::string format_month(int mi) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", mi / 12, mi % 12 + 1);
  return buf;
}

int Params::region_index(const std::string& name) const {
  for (std::size_t r = 0; r < regions.size(); ++r)
    if (regions[r].name == name) return int(r);
  return -1;
}

int Params::start_month_index() const { return parse_month(run.start); }

std::vector<RegionParams> default_regions() {
  std::vector<RegionParams> rs;
  for (const char* n : {"US", "CN", "EU", "UK", "CA", "IN", "ROW"}) {
    RegionParams r;
    r.name = n;
    rs.push_back(r);
  }
  return rs;
}

// ----------------------------------------------------------------- cross checks
namespace {

struct Checker {
  const Params& p;
  cfg::Diagnostics& d;
  std::vector<std::string> region_names;
  std::vector<std::string> firm_names;  // named firms and groups

  void region(const std::string& name, const Location& loc, const std::string& path) {
    if (p.region_index(name) >= 0) return;
    std::string msg = "unknown region " + cfg::quoted(name);
    const std::string hint = cfg::did_you_mean(name, region_names);
    msg += hint.empty() ? " (regions: " + join(region_names) + ")" : " (did you mean '" + hint + "'?)";
    d.error(loc, path, msg);
  }
  void firm(const std::string& name, const Location& loc, const std::string& path) {
    if (std::find(firm_names.begin(), firm_names.end(), name) != firm_names.end()) return;
    std::string msg = "unknown firm " + cfg::quoted(name);
    const std::string hint = cfg::did_you_mean(name, firm_names);
    if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
    d.error(loc, path, msg);
  }
  void sums_to_one(const std::vector<Share>& xs, const Location& loc, const std::string& path) {
    if (xs.empty()) return;
    double s = 0;
    for (const auto& x : xs) s += x.value;
    if (std::fabs(s - 1.0) > 1e-6)
      d.error(loc, path, "shares must sum to 1, they sum to " + schema::fmt_num(s));
  }
  static std::string join(const std::vector<std::string>& xs) {
    std::string s;
    for (const auto& x : xs) s += (s.empty() ? "" : ", ") + x;
    return s;
  }
};

}  // namespace

static void check_params(Params& p, const cfg::Node& root, cfg::Diagnostics& d) {
  Checker c{p, d, {}, {}};
  for (const auto& r : p.regions) c.region_names.push_back(r.name);
  auto where = [&](const std::string& path) {
    const cfg::Node* n = cfg::get_path(root, path);
    return n ? n->loc : root.loc;
  };

  if (p.regions.empty()) d.error(root.loc, "regions", "at least one region is required");
  // Region indices are stored in one byte per researcher (origin, location, office region).
  if (p.regions.size() > 256)
    d.error(where("regions"), "regions", "at most 256 regions, got " + std::to_string(p.regions.size()));
  if (p.start_month_index() < 0) d.error(where("run.start"), "run.start", "expected a month YYYY-MM, got " + cfg::quoted(p.run.start));

  // Regions
  for (std::size_t r = 0; r < p.regions.size(); ++r) {
    const auto& R = p.regions[r];
    const std::string rp = "regions." + R.name;
    for (const auto& o : R.visa_by_origin) c.region(o.name, o.loc, rp + ".visa_by_origin." + o.name);
    for (const auto& s : R.study_abroad) c.region(s.name, s.loc, rp + ".study_abroad." + s.name);
    if (R.lottery == LotteryRule::WageWeighted) {
      const auto& w = R.wage_levels;
      if (!(w.level_2 > 0 && w.level_2 <= w.level_3 && w.level_3 <= w.level_4))
        d.error(where(rp + ".wage_levels"), rp + ".wage_levels",
                "lottery wage_weighted needs wage_levels with 0 < level_2 <= level_3 <= level_4, got " +
                    schema::fmt_num(w.level_2) + ", " + schema::fmt_num(w.level_3) + ", " + schema::fmt_num(w.level_4));
    }
    double abroad = 0;
    for (const auto& s : R.study_abroad) abroad += s.value;
    if (abroad > 1 + 1e-9) d.error(where(rp + ".study_abroad"), rp + ".study_abroad", "shares studying abroad sum to " + schema::fmt_num(abroad) + ", more than 1");
  }

  // Population
  const auto& P = p.population;
  for (const auto& s : P.origin_shares) c.region(s.name, s.loc, "population.origin_shares." + s.name);
  for (const auto& s : P.abroad) c.region(s.name, s.loc, "population.abroad." + s.name);
  for (const auto& s : P.abroad_destinations) c.region(s.name, s.loc, "population.abroad_destinations." + s.name);
  c.sums_to_one(P.origin_shares, where("population.origin_shares"), "population.origin_shares");
  if (P.max_entry_age < P.min_age) d.error(where("population.max_entry_age"), "population.max_entry_age", "must be >= population.min_age");
  if (P.retirement_age <= P.max_entry_age) d.error(where("population.retirement_age"), "population.retirement_age", "must be > population.max_entry_age");
  if (p.market.top_share < p.market.elite_share) d.error(where("market.top_share"), "market.top_share", "must be >= market.elite_share");
  // A step is written once: `snapshots: [1, 1]` means step 1.
  std::sort(p.output.snapshots.begin(), p.output.snapshots.end());
  p.output.snapshots.erase(std::unique(p.output.snapshots.begin(), p.output.snapshots.end()), p.output.snapshots.end());

  // Firms
  std::map<std::string, std::size_t> seen;
  int64_t total_firms = 0;
  for (std::size_t f = 0; f < p.firms.size(); ++f) {
    auto& F = p.firms[f];
    const std::string fp = cfg::index_path("firms", f);
    if (F.name.empty()) {
      d.error(F.loc, fp, "missing required key 'name'");
      continue;
    }
    if (seen.count(F.name)) d.error(F.loc, fp + ".name", "duplicate firm name " + cfg::quoted(F.name));
    seen[F.name] = f;
    c.firm_names.push_back(F.name);
    total_firms += F.count;
    if (F.hq.empty()) d.error(F.loc, fp, "missing required key 'hq'");
    else c.region(F.hq, where(fp + ".hq"), fp + ".hq");
    // controlled_by defaults to hq (load_params): check it only where it was written.
    if (const cfg::Node* cb = cfg::get_path(root, fp + ".controlled_by"); cb && !F.controlled_by.empty())
      c.region(F.controlled_by, cb->loc, fp + ".controlled_by");
    for (const auto& o : F.offices) c.region(o.name, o.loc, fp + ".offices." + o.name);
    double tot = 0;
    for (const auto& o : F.offices) tot += o.value;
    if (!F.offices.empty() && tot <= 0) d.error(where(fp + ".offices"), fp + ".offices", "office shares must not all be 0");
    if (F.pay.base.kind == Dist::Kind::BMEquilibrium && p.market.lambda1 <= 0)
      d.error(where(fp + ".pay.base"), fp + ".pay.base", "bm_equilibrium needs market.lambda1 > 0");
    // Under the valuation rule the posted schedule's keys do nothing, and without a money value
    // of output every researcher is worth 0 (every offer at the floor): both would be silent.
    // (Checked by value, not by presence: a resolved configuration writes every key.)
    if (F.pay.rule == PayRule::Valuation) {
      const PayPolicy posted_pay;
      const RetentionPolicy posted_retention;
      const std::pair<std::string, bool> posted_only[] = {
          {"pay.elasticity", F.pay.elasticity != posted_pay.elasticity},
          {"pay.premium", F.pay.premium != posted_pay.premium},
          {"retention.max_raise", F.retention.max_raise != posted_retention.max_raise}};
      for (const auto& [k, set] : posted_only)
        if (set)
          d.error(where(fp + "." + k), fp + "." + k,
                  k + " belongs to pay.rule posted; under valuation a firm offers valuation_share × the researcher's "
                      "value to it and counters up to that value (remove the key, or use rule: posted)");
      if (p.production.output_value <= 0 || p.production.scale <= 0)
        d.error(where(fp + ".pay.rule"), fp + ".pay.rule",
                "valuation needs production.output_value > 0 and production.scale > 0 (a researcher's value to a firm "
                "is 12 × output_value × ∂Y/∂θ × θ), got output_value " + schema::fmt_num(p.production.output_value) +
                    ", scale " + schema::fmt_num(p.production.scale));
    }
  }
  if (total_firms > 50'000'000) d.error(where("firms"), "firms", "more than 50,000,000 firms in total");
  for (std::size_t f = 0; f < p.firms.size(); ++f)
    for (const auto& r : p.firms[f].hiring.rivals) c.firm(r, p.firms[f].hiring.rivals_loc, cfg::index_path("firms", f) + ".hiring.rivals");

  // Events
  const int start = p.start_month_index();
  for (std::size_t i = 0; i < p.events.size(); ++i) {
    auto& e = p.events[i];
    const std::string ep = cfg::index_path("events", i);
    if (!e.valid) continue;  // missing or unknown type: reported once by the loader
    if (e.at.month_index >= 0 && start >= 0) e.at.step = e.at.month_index - start;
    // (an `at` that is neither a month nor a step was reported by the loader)
    // An event after the horizon is not an error: a shortened run (--steps) of a scenario drops
    // it with a note (cfg::load_scenario). One before the start is.
    if (e.at.step < 0 && e.at.month_index >= 0 && start >= 0)
      d.error(e.at.loc, ep + ".at", "event dated before the start of the run (" + p.run.start + ")");
    auto need = [&](const std::string& v, const char* key) {
      if (v.empty()) d.error(e.loc, ep, std::string("missing required key '") + key + "' for event type '" + to_string(e.type) + "'");
      return !v.empty();
    };
    switch (e.type) {
      case EventType::Set: need(e.key, "key"); need(e.value, "value"); break;
      case EventType::Raid:
        if (need(e.firm, "firm")) c.firm(e.firm, where(ep + ".firm"), ep + ".firm");
        for (const auto& r : e.rivals) c.firm(r, where(ep + ".rivals"), ep + ".rivals");
        if (e.offers <= 0) d.error(e.loc, ep, "missing required key 'offers' for event type 'raid'");
        if (e.package <= 0) d.error(e.loc, ep, "missing required key 'package' for event type 'raid'");
        break;
      case EventType::BudgetShock:
      case EventType::ComputeShock:
        if (need(e.firm, "firm")) c.firm(e.firm, where(ep + ".firm"), ep + ".firm");
        break;
      case EventType::OfficeOpen:
      case EventType::OfficeClose:
        if (need(e.firm, "firm")) c.firm(e.firm, where(ep + ".firm"), ep + ".firm");
        if (need(e.region, "region")) c.region(e.region, where(ep + ".region"), ep + ".region");
        if (e.type == EventType::OfficeOpen && e.share <= 0) d.error(e.loc, ep, "office_open needs 'share' > 0");
        break;
      case EventType::ServiceRestriction:
      case EventType::ExportControl:
        if (need(e.region, "region")) c.region(e.region, where(ep + ".region"), ep + ".region");
        break;
      case EventType::RelocationOrder:
        if (need(e.firm, "firm")) c.firm(e.firm, where(ep + ".firm"), ep + ".firm");
        if (need(e.region, "region")) c.region(e.region, where(ep + ".region"), ep + ".region");
        if (e.to.empty()) d.error(e.loc, ep, "relocation_order needs 'to: {REGION: weight}'");
        for (const auto& s : e.to) {
          c.region(s.name, s.loc, ep + ".to." + s.name);
          // The destination must be one of the firm's offices (or one an event opens).
          for (const auto& F : p.firms) {
            if (F.name != e.firm) continue;
            bool office = F.offices.empty() ? F.hq == s.name : false;
            for (const auto& o : F.offices) office |= o.name == s.name && o.value > 0;
            for (const auto& e2 : p.events)
              office |= e2.type == EventType::OfficeOpen && e2.firm == e.firm && e2.region == s.name;
            if (!office && p.region_index(s.name) >= 0)
              d.error(s.loc, ep + ".to." + s.name, "firm '" + e.firm + "' has no office in " + s.name + " to relocate staff to");
          }
        }
        break;
    }
  }
}

Params load_params(const cfg::Node& root, cfg::Diagnostics& d) {
  Params p;
  p.regions = default_regions();
  // Regions given in the scenario replace the default list entirely when `regions` is present.
  if (const cfg::Node* rn = root.find("regions"); rn && rn->kind == cfg::Node::Kind::Map) p.regions.clear();
  schema::Loader top(&root, "", d);
  describe(top, p);
  top.finish();
  for (auto& f : p.firms)
    if (f.controlled_by.empty()) f.controlled_by = f.hq;
  check_params(p, root, d);
  if (p.population.steady_entry) {
    const double career = mean_career_months(p.population);
    for (auto& reg : p.regions) {
      double share = p.population.origin_shares.empty() ? 1.0 / double(p.regions.size()) : 0.0;
      for (const auto& sh : p.population.origin_shares)
        if (sh.name == reg.name) share = sh.value;
      const double derived = career > 0 && reg.ai_propensity > 0
                                 ? double(p.population.researchers) * share / (career * reg.ai_propensity)
                                 : 0.0;
      // A value in the scenario would be silently replaced: refused unless it is the derived one
      // (a resolved configuration, `talentsim config`, writes the derived values and loads to itself).
      if (const cfg::Node* n = cfg::get_path(root, "regions." + reg.name + ".entrants_per_month");
          n && std::fabs(reg.entrants_per_month - derived) > 1e-9 * std::max(1.0, derived))
        d.error(n->loc, "regions." + reg.name + ".entrants_per_month",
                "population.steady_entry derives entrants_per_month from the population and its origin shares (here " +
                    std::to_string(derived) + "); remove this key or set population.steady_entry: false");
      reg.entrants_per_month = derived;
    }
  }
  return p;
}

double mean_career_months(const PopulationParams& p) {
  const double x = std::clamp(p.exit_rate, 0.0, 1.0);
  if (!p.ageing) return x > 0 ? 1.0 / x : 0.0;
  // Months in the field of an entrant of entry month u (as demography draws them), until
  // retirement or an exit: Σ_{m<L} (1 − x)^m = (1 − (1 − x)^L) / x, L = retirement − u.
  const int lo = p.min_age * 12, hi = std::max(lo, p.max_entry_age * 12);
  double sum = 0;
  for (int u = lo; u <= hi; ++u) {
    const double L = std::max(0, p.retirement_age * 12 - u);
    sum += x > 0 ? (1.0 - std::pow(1.0 - x, L)) / x : L;
  }
  return sum / double(hi - lo + 1);
}

cfg::Node dump_params(const Params& p) {
  schema::Dumper dm;
  describe(dm, const_cast<Params&>(p));
  return std::move(dm.out);
}

// Keys a scenario must give: check_params reports them missing (tests/config/test_required_keys.cpp
// checks each, and that no other key is).
const char* const kRequiredKeys[] = {
    "firms[].name", "firms[].hq", "events[].type", "events[].at",
    "events[] (type: set).key", "events[] (type: set).value",
    "events[] (type: raid).firm", "events[] (type: raid).offers", "events[] (type: raid).package",
    "events[] (type: budget_shock).firm", "events[] (type: compute_shock).firm",
    "events[] (type: office_open).firm", "events[] (type: office_open).region", "events[] (type: office_open).share",
    "events[] (type: office_close).firm", "events[] (type: office_close).region",
    "events[] (type: service_restriction).region", "events[] (type: export_control).region",
    "events[] (type: relocation_order).firm", "events[] (type: relocation_order).region",
    "events[] (type: relocation_order).to"};

std::vector<std::string> required_keys() { return {std::begin(kRequiredKeys), std::end(kRequiredKeys)}; }

std::string describe_keys(const std::string& pattern) {
  std::vector<schema::Documenter::Row> rows;
  Params p;
  p.regions = default_regions();
  schema::Documenter doc{&rows, ""};
  describe(doc, p);
  // The fields of a `set` event (the default type) are listed with the other types below.
  std::erase_if(rows, [](const auto& r) { return r.path == "events[].key" || r.path == "events[].value"; });
  // Event fields depend on the event type: document each type's fields.
  for (const auto& t : kEventTypes) {
    Event e;
    e.type = t.value;
    std::vector<schema::Documenter::Row> er;
    schema::Documenter ed{&er, std::string("events[] (type: ") + t.name + ")"};
    describe(ed, e);
    for (auto& r : er)
      if (r.path.find(".type") == std::string::npos && r.path.find(".at") == std::string::npos) rows.push_back(r);
  }
  for (auto& r : rows)
    for (const char* k : kRequiredKeys)
      if (r.path == k) r.def = "**required**";
  auto lower = [](std::string x) {
    for (char& c : x) c = char(std::tolower(static_cast<unsigned char>(c)));
    return x;
  };
  const std::string pat = lower(pattern);
  std::ostringstream os;
  int shown = 0;
  os << "| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    if (!pat.empty() && lower(r.path).find(pat) == std::string::npos) continue;
    os << "| `" << r.path << "` | " << r.type << " | " << r.def << " | " << r.allowed << " | " << r.doc << " |\n";
    ++shown;
  }
  return shown ? os.str() : std::string();
}

}  // namespace ts::model

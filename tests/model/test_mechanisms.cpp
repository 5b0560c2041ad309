// Each mechanism of MODEL.md §3–§4 on a tiny hand-built population whose outcome is
// worked out by hand. Every scenario switches off what the test is not about: no noise
// (utility.noise 0), pay-only utility (utility.pay 1, every other weight 0), no ageing,
// exits, separations or random offers unless the test turns them on. The world columns
// are then overwritten to build the situation, and the phases are driven one at a time
// (or with step()). Each assertion says how its expected value follows from the rules.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "tests/support/helpers.hpp"

using namespace ts;
using model::kNoFirm;
using model::LogKind;
using model::Simulation;
using model::Status;

namespace {

/// A scenario with the regions and firms given (YAML block text, already indented),
/// everything random or not under test switched off. Overrides (`key=value`) turn
/// single mechanisms back on.
std::string scenario(const std::string& regions, const std::string& firms, const std::string& extra = "") {
  return "run: {seed: 11, start: 2025-07, steps: 60}\n"
         "regions:\n" +
         regions +
         // A hand-built world: the tests size it with --set population.researchers and keep their firms.
         "population: {researchers: 4, scale_market: false, employment_rate: 0, ageing: false, exit_rate: 0}\n"
         "market:\n"
         "  lambda0: 0\n"
         "  lambda1: 0\n"
         "  separation: 0\n"
         "  utility: {pay: 1, compute: 0, compute_sd: 0, prestige: 0, home: 0, home_sd: 0,\n"
         "            visa_risk: 0, wait_cost: 0, move_cost: 0, noise: 0}\n"
         "firms:\n" +
         firms + extra;
}

/// The tests overwrite world columns after construction, which breaks the step-to-step
/// stock bookkeeping that the invariant checker (if this build has one, e.g. on in debug
/// builds) compares against; switch it off when it exists.
template <class S>
void no_invariant_checks(S& sim) {
  if constexpr (requires(S& s) { s.set_checking(false); }) sim.set_checking(false);
}

Simulation make(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  Simulation sim(test::params_from(yaml, sets));
  no_invariant_checks(sim);
  return sim;
}

/// Hand-built researcher state.
struct Person {
  int origin = 0;
  int location = 0;
  Status status = Status::Citizen;
  float talent = 1.f;
  int32_t employer = kNoFirm;
  float comp = 0.f;
  int visa_left = 0;
  int tenure = 0;
};

/// Overwrites every column of slot i (alive, no pending move, no grace clock, neutral tastes).
void put(Simulation& sim, std::size_t i, const Person& p) {
  auto& r = sim.edit_world().r;
  r.alive[i] = 1;
  r.origin[i] = uint8_t(p.origin);
  r.location[i] = uint8_t(p.location);
  r.status[i] = uint8_t(p.status);
  r.talent[i] = p.talent;
  r.employer[i] = p.employer;
  r.comp[i] = p.comp;
  r.visa_left[i] = int16_t(p.visa_left);
  r.tenure[i] = int16_t(p.tenure);
  r.renewals[i] = 0;
  r.flags[i] = 0;
  r.grace[i] = -1;
  r.age[i] = 30 * 12;
  r.in_region[i] = 12;
  r.home_bias[i] = 0.f;
  r.compute_taste[i] = 0.f;
  r.ref_offer[i] = 0.f;
  r.output[i] = 0.f;
  r.hc_output[i] = 0.f;
  r.pending_firm[i] = kNoFirm;
  r.pending_region[i] = 0;
  r.pending_left[i] = 0;
  r.pending_kind[i] = 0;
  r.pending_comp[i] = 0.f;
}

/// Starts a hand-driven step: StepStats are reset by step() only.
void begin(Simulation& sim) { sim.stats().reset(sim.regions(), int(sim.world().f.size())); }

/// Phases 1–4 (events, demography, firm planning, offers).
void up_to_offers(Simulation& sim) {
  begin(sim);
  sim.events();
  sim.demography();
  sim.firm_planning();
  sim.offers();
}

/// Phases 5–10 and the clock, as step() would do them.
void finish_step(Simulation& sim) {
  sim.retention();
  sim.clearing();
  sim.visa();
  sim.production();
  sim.pay();
  sim.record();
  ++sim.edit_world().step;
}

int64_t market(const Simulation& sim, model::MarketStat k) { return sim.stats().market[std::size_t(k)]; }
int64_t visa_stat(const Simulation& sim, int origin, model::VisaStat k) {
  return sim.stats().visa[std::size_t(origin) * model::kVisaStats + k];
}
int64_t flow(const Simulation& sim, int from, int to) {
  return sim.stats().flows[std::size_t(from) * sim.regions() + to];
}
std::vector<model::LogEntry> logged(const Simulation& sim, LogKind k, uint64_t uid) {
  std::vector<model::LogEntry> out;
  for (const auto& e : sim.stats().log)
    if (e.kind == uint8_t(k) && e.uid == uid) out.push_back(e);
  return out;
}
int64_t count_kind(const Simulation& sim, LogKind k) {
  return std::count_if(sim.stats().log.begin(), sim.stats().log.end(), [&](auto& e) { return e.kind == uint8_t(k); });
}

const char* kTwoRegions =
    "  US: {pay_level: 1}\n"
    "  CN: {pay_level: 1}\n";

}  // namespace

// ====================================================================== visas (§4.7)

TEST_CASE("model: a denied visa makes the move fail") {
  // Two CN-origin citizens in CN: slot 0 unemployed, slot 1 at CNLab (full: target 1, so no
  // vacancies) earning 100000. USLab (US office, 5 vacancies) is the only firm random search
  // can draw; λ0 = λ1 = 1 ⇒ both get its offer of 150000 (premium 0), which beats staying
  // (pay-only utility: ln 150000 > ln 30000 unemployed, > ln 100000 employed; CNLab does not
  // counter). Each move needs a new US petition (visa_need 2); approval 0, processing 0 ⇒
  // both denied in this step's visa phase: still in CN, slot 0 without a job, slot 1 at
  // CNLab on its old pay; denials = 2 for origin CN.
  const std::string regions =
      "  US: {visa: {approval: 0, processing_months: 0}}\n"
      "  CN: {pay_level: 1}\n";
  const std::string firms =
      "  - {name: USLab, hq: US, headcount: 5}\n"
      "  - {name: CNLab, hq: CN, headcount: 1}\n";
  auto sim = make(scenario(regions, firms), {"population.researchers=2", "market.lambda0=1", "market.lambda1=1"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  const int us_lab = sim.firm_index("USLab"), cn_lab = sim.firm_index("CNLab");
  put(sim, 0, {.origin = CN, .location = CN});
  put(sim, 1, {.origin = CN, .location = CN, .employer = cn_lab, .comp = 100000});
  const auto& r = sim.world().r;

  sim.step();
  CHECK(sim.pending_offers().size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CAPTURE(i);
    CHECK(r.location[i] == CN);
    CHECK(r.pending_firm[i] == kNoFirm);
    CHECK(Status(r.status[i]) == Status::Citizen);
    const auto denied = logged(sim, LogKind::VisaDenied, r.uid[i]);
    REQUIRE(denied.size() == 1);
    CHECK(denied[0].from_firm == (i == 0 ? kNoFirm : cn_lab));
    CHECK(denied[0].to_firm == us_lab);
    CHECK(denied[0].from_region == CN);
    CHECK(denied[0].to_region == US);
    CHECK(logged(sim, LogKind::VisaPetition, r.uid[i]).size() == 1);
  }
  CHECK(r.employer[0] == kNoFirm);
  CHECK(r.employer[1] == cn_lab);
  CHECK(r.comp[1] == doctest::Approx(100000));
  CHECK(visa_stat(sim, CN, model::kVisaApplications) == 2);
  CHECK(visa_stat(sim, CN, model::kVisaDenials) == 2);
  CHECK(visa_stat(sim, CN, model::kVisaApprovals) == 0);
  CHECK(visa_stat(sim, US, model::kVisaDenials) == 0);
  CHECK(market(sim, model::kHires) == 0);
  CHECK(market(sim, model::kJobToJob) == 0);
  CHECK(flow(sim, CN, US) == 0);
  CHECK(sim.world().f.pending_in[us_lab] == 0);  // the denied petitions no longer hold vacancies
}

TEST_CASE("model: an approved visa with no processing time moves the researcher in the same step") {
  // As above with approval 1, processing 0: petition in clearing, decision in the visa
  // phase of the same step, so the researcher is in the US with a work visa at the end.
  const std::string regions =
      "  US: {visa_months: 36, visa: {approval: 1, processing_months: 0}}\n"
      "  CN: {pay_level: 1}\n";
  auto sim = make(scenario(regions, "  - {name: USLab, hq: US, headcount: 5}\n"),
                  {"population.researchers=1", "market.lambda0=1"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = CN});
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.location[0] == US);
  CHECK(r.employer[0] == sim.firm_index("USLab"));
  CHECK(Status(r.status[0]) == Status::WorkVisa);
  CHECK(r.visa_left[0] == 36);
  CHECK(r.comp[0] == doctest::Approx(150000));
  CHECK(visa_stat(sim, CN, model::kVisaApprovals) == 1);
  CHECK(market(sim, model::kHires) == 1);
  CHECK(flow(sim, CN, US) == 1);
}

// BUG (see report): a petition filed in clearing is decided processing_months − 1 steps
// later (the visa phase of the filing step already counts one month), and
// processing_months 1 is the same as 0. Kept out of the suite until sim/ is fixed.
TEST_CASE("model: a visa with processing_months 2 moves the researcher exactly 2 steps later") {
  // Petition at step 0 (clearing) ⇒ decision, and the move, in the visa phase of step 2.
  const std::string regions =
      "  US: {visa: {approval: 1, processing_months: 2}}\n"
      "  CN: {pay_level: 1}\n";
  auto sim = make(scenario(regions, "  - {name: USLab, hq: US, headcount: 5}\n"),
                  {"population.researchers=1", "market.lambda0=1"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = CN});
  const auto& r = sim.world().r;
  sim.step();  // step 0: petition filed
  CHECK(visa_stat(sim, CN, model::kVisaApplications) == 1);
  CHECK(r.pending_firm[0] == sim.firm_index("USLab"));
  CHECK(r.location[0] == CN);
  sim.step();  // step 1: still waiting
  CHECK(r.pending_firm[0] == sim.firm_index("USLab"));
  CHECK(r.location[0] == CN);
  CHECK(visa_stat(sim, CN, model::kVisaApprovals) == 0);
  sim.step();  // step 2: decided and moved
  CHECK(visa_stat(sim, CN, model::kVisaApprovals) == 1);
  CHECK(r.location[0] == US);
  CHECK(r.employer[0] == sim.firm_index("USLab"));
}

TEST_CASE("model: a pending visa is decided after processing_months and the waiting researcher gets no offers") {
  // What the model does today for processing_months 3, petition filed at step 0: pending
  // through the steps before the decision (no new offers even with λ0 = 1), then moved.
  // The decision step is 2 (= processing − 1, see the skipped test above); with the
  // fix it becomes step 3, so the check below only pins "decided within 3 steps, moved once".
  const std::string regions =
      "  US: {visa: {approval: 1, processing_months: 3}}\n"
      "  CN: {pay_level: 1}\n";
  auto sim = make(scenario(regions, "  - {name: USLab, hq: US, headcount: 5}\n"),
                  {"population.researchers=1", "market.lambda0=1"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = CN});
  const auto& r = sim.world().r;
  sim.step();
  CHECK(r.pending_firm[0] == sim.firm_index("USLab"));
  int moved_at = -1;
  for (int t = 1; t <= 3 && moved_at < 0; ++t) {
    sim.step();
    if (r.pending_firm[0] != kNoFirm) CHECK(sim.pending_offers().empty());  // waiting: no offers
    if (r.location[0] == US) moved_at = t;
  }
  CHECK(moved_at >= 2);
  CHECK(moved_at <= 3);
  CHECK(r.employer[0] == sim.firm_index("USLab"));
  CHECK(Status(r.status[0]) == Status::WorkVisa);
  (void)CN;
}

TEST_CASE("model: firms that do not sponsor, or will not pay the petition fee, make no offers needing a visa") {
  // consider() drops an offer needing a visa from a non-sponsor, and a new petition whose
  // fee exceeds the firm's max_fee. The CN researcher needs a US petition; the US citizen
  // needs nothing, so only the citizen's offer survives.
  const std::string regions =
      "  US: {petition_fee: 5000}\n"
      "  CN: {pay_level: 1}\n";
  for (const std::string firm : {"  - {name: USLab, hq: US, headcount: 5, visa: {sponsors: false}}\n",
                                 "  - {name: USLab, hq: US, headcount: 5, visa: {sponsors: true, max_fee: 4999}}\n"}) {
    CAPTURE(firm);
    auto sim = make(scenario(regions, firm), {"population.researchers=2", "market.lambda0=1"});
    const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
    put(sim, 0, {.origin = CN, .location = CN});
    put(sim, 1, {.origin = US, .location = US});
    up_to_offers(sim);
    REQUIRE(sim.pending_offers().size() == 1);
    CHECK(sim.pending_offers()[0].slot == 1);
  }
}

TEST_CASE("model: a work-visa holder changes employer in place without a new petition") {
  // visa_need = 1 (transfer): the sponsor is needed but there is no wait and no approval
  // draw, so the move is executed in clearing even though US approval is 0.
  const std::string regions =
      "  US: {visa: {approval: 0, processing_months: 6}}\n"
      "  CN: {pay_level: 1}\n";
  const std::string firms =
      "  - {name: A, hq: US, headcount: 1, pay: {base: 100000}}\n"
      "  - {name: B, hq: US, headcount: 5, pay: {base: 200000}}\n";
  auto sim = make(scenario(regions, firms), {"population.researchers=1", "market.lambda1=1"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = US, .status = Status::WorkVisa, .employer = 0, .comp = 100000, .visa_left = 20});
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.employer[0] == sim.firm_index("B"));
  CHECK(r.comp[0] == doctest::Approx(200000));
  CHECK(Status(r.status[0]) == Status::WorkVisa);
  CHECK(r.visa_left[0] == 19);  // unchanged by the transfer, one month used in this step's visa phase
  CHECK(visa_stat(sim, CN, model::kVisaApplications) == 0);
  CHECK(market(sim, model::kJobToJob) == 1);
  CHECK(sim.poaching().at({0, 1}) == 1);
}

TEST_CASE("model: a researcher without status leaves after the grace period") {
  // CN-origin work-visa holder in the US, visa_left 1, employed by a sponsor. In the visa
  // phase of step 0 the clock reaches 0; renewal is impossible (max_renewals 0, or renewal
  // probability 0) ⇒ expiry: status none, job lost, grace = grace_months = 2. The grace
  // clock ticks in steps 1 (2→1) and 2 (1→0) ⇒ forced back to CN in step 2.
  for (const std::string us : {"  US: {max_renewals: 0, grace_months: 2}\n",
                               "  US: {max_renewals: 1, grace_months: 2, visa: {renewal: 0}}\n"}) {
    CAPTURE(us);
    auto sim = make(scenario(us + "  CN: {pay_level: 1}\n", "  - {name: USLab, hq: US, headcount: 5}\n"),
                    {"population.researchers=1"});
    const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
    put(sim, 0, {.origin = CN, .location = US, .status = Status::WorkVisa, .employer = 0, .comp = 150000, .visa_left = 1});
    const uint64_t uid = sim.world().r.uid[0];
    const auto& r = sim.world().r;

    sim.step();  // step 0: expiry
    CHECK(visa_stat(sim, CN, model::kVisaExpiries) == 1);
    CHECK(visa_stat(sim, CN, model::kVisaRenewals) == 0);
    CHECK(logged(sim, LogKind::VisaExpired, uid).size() == 1);
    CHECK(logged(sim, LogKind::Separation, uid).size() == 1);
    CHECK(r.employer[0] == kNoFirm);
    CHECK(r.comp[0] == 0.f);
    CHECK(Status(r.status[0]) == Status::None);
    CHECK(r.location[0] == US);
    CHECK(r.grace[0] == 2);

    sim.step();  // step 1: still in grace
    CHECK(r.location[0] == US);
    CHECK(r.grace[0] == 1);
    CHECK(visa_stat(sim, CN, model::kVisaForcedDepartures) == 0);

    sim.step();  // step 2: grace over
    CHECK(r.location[0] == CN);
    CHECK(Status(r.status[0]) == Status::Citizen);
    CHECK(r.grace[0] == -1);
    CHECK(visa_stat(sim, CN, model::kVisaForcedDepartures) == 1);
    CHECK(flow(sim, US, CN) == 1);
    const auto dep = logged(sim, LogKind::ForcedDeparture, uid);
    REQUIRE(dep.size() == 1);
    CHECK(dep[0].from_region == US);
    CHECK(dep[0].to_region == CN);
  }
}

TEST_CASE("model: an expiring visa is renewed while renewals remain") {
  // renewal 1, max_renewals 1: the first expiry renews (visa_left = visa_months, renewals 1).
  auto sim = make(scenario("  US: {max_renewals: 1, visa_months: 24, visa: {renewal: 1}}\n  CN: {pay_level: 1}\n",
                           "  - {name: USLab, hq: US, headcount: 5}\n"),
                  {"population.researchers=1"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = US, .status = Status::WorkVisa, .employer = 0, .comp = 150000, .visa_left = 1});
  sim.step();
  const auto& r = sim.world().r;
  CHECK(visa_stat(sim, CN, model::kVisaRenewals) == 1);
  CHECK(visa_stat(sim, CN, model::kVisaExpiries) == 0);
  CHECK(r.renewals[0] == 1);
  CHECK(r.visa_left[0] == 24);
  CHECK(r.employer[0] == 0);
  CHECK(Status(r.status[0]) == Status::WorkVisa);
  CHECK(r.location[0] == US);
}

TEST_CASE("model: a new sponsoring job before the grace period ends lets the researcher stay") {
  // Step 0: the visa expires (as above), grace 2. Step 1: λ0 turned on; the US firm's offer
  // (150000 vs unemployed 30000) needs a new petition (status none), processing 0, approval 1
  // ⇒ approved in step 1's visa phase: work visa again, grace cleared, still in the US.
  auto sim = make(scenario("  US: {max_renewals: 0, grace_months: 2, visa_months: 36}\n  CN: {pay_level: 1}\n",
                           "  - {name: USLab, hq: US, headcount: 5}\n"),
                  {"population.researchers=1"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = US, .status = Status::WorkVisa, .employer = 0, .comp = 150000, .visa_left = 1});
  const auto& r = sim.world().r;
  sim.step();
  REQUIRE(Status(r.status[0]) == Status::None);
  REQUIRE(r.grace[0] == 2);
  sim.params().market.lambda0 = 1.0;
  sim.step();
  CHECK(visa_stat(sim, CN, model::kVisaApprovals) == 1);
  CHECK(r.employer[0] == 0);
  CHECK(Status(r.status[0]) == Status::WorkVisa);
  CHECK(r.visa_left[0] == 36);
  CHECK(r.grace[0] == -1);
  for (int t = 0; t < 3; ++t) {
    sim.step();
    CHECK(r.location[0] == US);
    CHECK(visa_stat(sim, CN, model::kVisaForcedDepartures) == 0);
  }
}

TEST_CASE("model: an employed graduate on a student visa changes status through the employer") {
  // Student visa reaches 0 in step 0: the sponsoring employer files a change-of-status
  // petition (kind 1) and the graduate keeps working; decided 2 steps later
  // (processing 2) ⇒ work visa in step 2, still at the same employer and in the US.
  auto sim = make(scenario("  US: {visa_months: 36, visa: {approval: 1, processing_months: 2}}\n  CN: {pay_level: 1}\n",
                           "  - {name: USLab, hq: US, headcount: 5}\n"),
                  {"population.researchers=1"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = US, .status = Status::StudentVisa, .employer = 0, .comp = 150000, .visa_left = 1});
  const auto& r = sim.world().r;
  sim.step();
  CHECK(visa_stat(sim, CN, model::kVisaApplications) == 1);
  CHECK(r.pending_firm[0] == 0);
  CHECK(r.pending_kind[0] == 1);
  CHECK(r.employer[0] == 0);
  sim.step();
  CHECK(Status(r.status[0]) == Status::StudentVisa);
  CHECK(r.employer[0] == 0);
  sim.step();
  CHECK(visa_stat(sim, CN, model::kVisaApprovals) == 1);
  CHECK(Status(r.status[0]) == Status::WorkVisa);
  CHECK(r.visa_left[0] == 36);
  CHECK(r.employer[0] == 0);
  CHECK(r.location[0] == US);
}

TEST_CASE("model: the annual cap admits only cap petitions a month; academia is exempt") {
  // Three CN researchers in CN each accept a US offer (λ0 = 1). All are approved
  // (approval 1, lottery_selection 1), the rule is capped with annual_cap 1 ⇒ 1 approved,
  // 2 lottery losses. With an academic employer the cap does not apply ⇒ 3 approvals.
  const std::string regions =
      "  US: {annual_cap: 1, lottery_selection: 1, visa: {approval: 1, processing_months: 0, capped: true}}\n"
      "  CN: {pay_level: 1}\n";
  for (const std::string kind : {"startup", "academia"}) {
    CAPTURE(kind);
    auto sim = make(scenario(regions, "  - {name: USLab, kind: " + kind + ", hq: US, headcount: 10}\n"),
                    {"population.researchers=3", "market.lambda0=1"});
    const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
    for (std::size_t i = 0; i < 3; ++i) put(sim, i, {.origin = CN, .location = CN, .talent = 1.f + float(i)});
    sim.step();
    const bool academia = kind == "academia";
    CHECK(visa_stat(sim, CN, model::kVisaApplications) == 3);
    CHECK(visa_stat(sim, CN, model::kVisaApprovals) == (academia ? 3 : 1));
    CHECK(visa_stat(sim, CN, model::kVisaLotteryLosses) == (academia ? 0 : 2));
    CHECK(count_kind(sim, LogKind::VisaLotteryLost) == (academia ? 0 : 2));
    int in_us = 0;
    for (std::size_t i = 0; i < 3; ++i) in_us += sim.world().r.location[i] == US;
    CHECK(in_us == (academia ? 3 : 1));
  }
}

TEST_CASE("model: permanent residency is granted at pr_rate / 12 per month") {
  // 6000 CN-origin work-visa holders in the US with long visas. pr_rate 0 ⇒ nobody in 12
  // steps. pr_rate 1 (yearly) ⇒ Binomial(6000, 1/12) in one step: mean 500,
  // sd √(6000·(1/12)·(11/12)) ≈ 21.4; tolerance 5 sd (seed 11).
  for (const double rate : {0.0, 1.0}) {
    CAPTURE(rate);
    auto sim = make(scenario("  US: {visa: {pr_rate: " + std::to_string(rate) + "}}\n  CN: {pay_level: 1}\n",
                             "  - {name: USLab, hq: US, headcount: 6000}\n"),
                    {"population.researchers=6000"});
    const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
    for (std::size_t i = 0; i < 6000; ++i)
      put(sim, i, {.origin = CN, .location = US, .status = Status::WorkVisa, .employer = 0, .comp = 150000, .visa_left = 100});
    const auto& r = sim.world().r;
    auto permanent = [&] { return std::count(r.status.begin(), r.status.end(), uint8_t(Status::Permanent)); };
    if (rate == 0.0) {
      for (int t = 0; t < 12; ++t) sim.step();
      CHECK(permanent() == 0);
    } else {
      sim.step();
      const auto n = permanent();
      CHECK(visa_stat(sim, CN, model::kVisaPermanent) == n);
      CHECK(count_kind(sim, LogKind::PermanentResidency) == n);
      CHECK(std::abs(double(n) - 500.0) < 5 * 21.4);
    }
  }
}

// ================================================================= offers (§4.4)

TEST_CASE("model: random search reaches only those with a positive arrival rate, from firms with vacancies") {
  // Firm Full (target 2, 2 employees) has no vacancies; Open (target 10) has 10. λ0 = 1,
  // λ1 = 0 ⇒ each of the 3 unemployed gets exactly one offer, from Open (weight 0 for Full),
  // at Open's pay base × θ; the 2 employed get none.
  const std::string firms =
      "  - {name: Full, hq: US, headcount: 2}\n"
      "  - {name: Open, hq: US, headcount: 10, pay: {base: 120000}}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", firms), {"population.researchers=5", "market.lambda0=1"});
  for (std::size_t i = 0; i < 5; ++i)
    put(sim, i, {.talent = 1.f + float(i), .employer = i < 2 ? 0 : kNoFirm, .comp = i < 2 ? 150000.f : 0.f});
  up_to_offers(sim);
  CHECK(sim.world().f.vacancies[0] == 0);
  CHECK(sim.world().f.vacancies[1] == 10);
  const auto& offers = sim.pending_offers();
  REQUIRE(offers.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(offers[k].slot == 2 + k);
    CHECK(offers[k].firm == 1);
    CHECK(offers[k].targeted == 0);
    CHECK(offers[k].comp == doctest::Approx(120000.0 * (3.0 + double(k))));
  }
  CHECK(market(sim, model::kOffers) == 3);
}

TEST_CASE("model: random search draws firms in proportion to vacancies") {
  // Two firms with 100 and 300 vacancies (no staff), 20000 unemployed, λ0 = 1: every
  // researcher gets one offer; P(firm B) = 300/400 = 0.75, sd of the share
  // √(0.75·0.25/20000) ≈ 0.00306; tolerance 5 sd (seed 11).
  const std::string firms =
      "  - {name: A, hq: US, headcount: 100}\n"
      "  - {name: B, hq: US, headcount: 300}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", firms), {"population.researchers=20000", "market.lambda0=1"});
  up_to_offers(sim);
  const auto& offers = sim.pending_offers();
  REQUIRE(offers.size() == 20000);
  const auto nb = std::count_if(offers.begin(), offers.end(), [](auto& o) { return o.firm == 1; });
  const double share = double(nb) / 20000.0, se = std::sqrt(0.75 * 0.25 / 20000.0);
  CAPTURE(share);
  CHECK(std::abs(share - 0.75) < 5 * se);
}

TEST_CASE("model: the offer arrival rate for the unemployed is λ0") {
  // λ0 = 0.3, 20000 unemployed, one firm with ample vacancies (unlimited): the share with an
  // offer is 0.3 ± 5·√(0.3·0.7/20000) ≈ 0.3 ± 0.0162 (seed 11).
  auto sim = make(scenario("  US: {pay_level: 1}\n", "  - {name: A, hq: US, headcount: 10, hiring: {unlimited: true}}\n"),
                  {"population.researchers=20000", "market.lambda0=0.3"});
  up_to_offers(sim);
  const double share = double(sim.pending_offers().size()) / 20000.0;
  CAPTURE(share);
  CHECK(std::abs(share - 0.3) < 5 * std::sqrt(0.3 * 0.7 / 20000.0));
}

TEST_CASE("model: separation comes before offers within a step (delta = 1)") {
  // δ = 1: the 4 employed lose their jobs in demography and are flagged, so the offers
  // phase skips them even with λ0 = λ1 = 1 (MODEL §8 "separate first, then offers").
  // The 2 who started unemployed get offers and are hired.
  auto sim = make(scenario("  US: {pay_level: 1}\n", "  - {name: Lab, hq: US, headcount: 10}\n"),
                  {"population.researchers=6", "market.lambda0=1", "market.lambda1=1", "market.separation=1"});
  for (std::size_t i = 0; i < 6; ++i) put(sim, i, {.employer = i < 4 ? 0 : kNoFirm, .comp = i < 4 ? 150000.f : 0.f});
  sim.step();
  CHECK(market(sim, model::kSeparations) == 4);
  const auto& offers = sim.pending_offers();
  REQUIRE(offers.size() == 2);
  CHECK(offers[0].slot == 4);
  CHECK(offers[1].slot == 5);
  const auto& r = sim.world().r;
  for (std::size_t i = 0; i < 4; ++i) CHECK(r.employer[i] == kNoFirm);
  for (std::size_t i = 4; i < 6; ++i) CHECK(r.employer[i] == 0);
  CHECK(market(sim, model::kHires) == 2);
  CHECK(market(sim, model::kEmployed) == 2);
  CHECK(market(sim, model::kUnemployed) == 4);
}

TEST_CASE("model: a raid lands offers on the rival's most talented staff") {
  // Rival staff θ = {1, 5, 3, 4, 2} (slots 0–4); a more talented researcher (θ 10) works at
  // Other, which is not a rival. Raid(Raider, [Rival], offers 2, package 5e6) ⇒ exactly two
  // targeted offers, to slots 1 (θ 5) and 3 (θ 4), at 5e6; both beat staying (pay-only,
  // no counteroffers) and Raider has vacancies ⇒ both move; raid_hires = 2.
  const std::string firms =
      "  - {name: Raider, hq: US, headcount: 10}\n"
      "  - {name: Rival, hq: US, headcount: 5}\n"
      "  - {name: Other, hq: US, headcount: 1}\n";
  const std::string events =
      "events:\n"
      "  - {type: raid, at: 0, firm: Raider, rivals: [Rival], offers: 2, package: 5000000}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", firms, events), {"population.researchers=6"});
  const float th[] = {1, 5, 3, 4, 2};
  for (std::size_t i = 0; i < 5; ++i) put(sim, i, {.talent = th[i], .employer = 1, .comp = 150000.f * th[i]});
  put(sim, 5, {.talent = 10, .employer = 2, .comp = 1500000});
  up_to_offers(sim);
  std::vector<uint32_t> targets;
  for (const auto& o : sim.pending_offers())
    if (o.firm == 0) {
      CHECK(o.targeted == 2);
      CHECK(o.comp == doctest::Approx(5e6));
      targets.push_back(o.slot);
    }
  CHECK(targets == std::vector<uint32_t>{1, 3});
  CHECK(market(sim, model::kTargetedOffers) == 2);
  finish_step(sim);
  const auto& r = sim.world().r;
  CHECK(r.employer[1] == 0);
  CHECK(r.employer[3] == 0);
  CHECK(r.employer[0] == 1);
  CHECK(r.employer[5] == 2);
  CHECK(market(sim, model::kRaidHires) == 2);
  CHECK(sim.poaching().at({1, 0}) == 2);
}

// BUG (see report): firm_planning() resets extra_capacity after events() added the raid's
// capacity, so a raiding firm without vacancies loses all its raid hires to clearing.
TEST_CASE("model: raid hires do not need vacancies") {
  // Raider has target 0 ⇒ 0 vacancies; the raid adds capacity for its 2 offers (clearing:
  // "raids add their own capacity") ⇒ both targets move, none rejected by capacity.
  const std::string firms =
      "  - {name: Raider, hq: US, headcount: 0}\n"
      "  - {name: Rival, hq: US, headcount: 5}\n";
  const std::string events =
      "events:\n"
      "  - {type: raid, at: 0, firm: Raider, rivals: [Rival], offers: 2, package: 5000000}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", firms, events), {"population.researchers=3"});
  for (std::size_t i = 0; i < 3; ++i) put(sim, i, {.talent = 1.f + float(i), .employer = 1, .comp = 150000});
  sim.step();
  CHECK(market(sim, model::kRaidHires) == 2);
  CHECK(market(sim, model::kRejectedByCapacity) == 0);
  CHECK(sim.world().r.employer[2] == 0);
  CHECK(sim.world().r.employer[1] == 0);
}

// ============================================================== retention (§4.5)

namespace {
std::string bertrand_firms(double inc_max_package, double poach_max_package) {
  // Incumbent: standard pay 100000·θ, Bertrand, max_raise 10 (so its maximum is its max_package).
  // Poacher: offer 200000·θ, premium 0, max_raise 10 (its maximum is its max_package).
  return "  - {name: Inc, hq: US, headcount: 1, pay: {base: 100000, max_package: " + std::to_string(inc_max_package) +
         "}, retention: {rule: bertrand, max_raise: 10}}\n"
         "  - {name: Poach, hq: US, headcount: 5, pay: {base: 200000, premium: 0, max_package: " +
         std::to_string(poach_max_package) + "}, retention: {rule: none, max_raise: 10}}\n";
}
}  // namespace

TEST_CASE("model: Bertrand - the incumbent that values the researcher more keeps them and pays the poacher's maximum") {
  // θ = 1, comp 100000 at Inc. Inc's maximum: min(100000·11, 1e6) = 1e6. Poacher's offer
  // 200000, its maximum min(200000·11, 400000) = 400000. Pay-only utility: U = ln(pay).
  // Inc values more (1e6 > 400000) ⇒ stays, paid the loser's maximum 400000; the losing
  // poacher raised the stayer's pay (counteroffer_raises 1, ref_offer = 400000).
  auto sim = make(scenario("  US: {pay_level: 1}\n", bertrand_firms(1e6, 4e5)),
                  {"population.researchers=1", "market.lambda1=1"});
  put(sim, 0, {.employer = 0, .comp = 100000});
  const uint64_t uid = sim.world().r.uid[0];
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.employer[0] == 0);
  CHECK(r.comp[0] == doctest::Approx(400000).epsilon(1e-6));
  CHECK(r.ref_offer[0] == doctest::Approx(400000).epsilon(1e-6));
  CHECK(market(sim, model::kCounterRaises) == 1);
  CHECK(market(sim, model::kJobToJob) == 0);
  const auto raise = logged(sim, LogKind::CounterRaise, uid);
  REQUIRE(raise.size() == 1);
  CHECK(raise[0].pay_before == doctest::Approx(100000));
  CHECK(raise[0].pay_after == doctest::Approx(400000).epsilon(1e-6));
}

TEST_CASE("model: Bertrand - the poacher that values the researcher more wins and pays the incumbent's maximum") {
  // Inc's maximum: min(100000·11, 300000) = 300000; poacher's: min(200000·11, 1e6) = 1e6.
  // Poacher values more ⇒ moves, paid the incumbent's maximum 300000 (> the 200000 offer).
  auto sim = make(scenario("  US: {pay_level: 1}\n", bertrand_firms(3e5, 1e6)),
                  {"population.researchers=1", "market.lambda1=1"});
  put(sim, 0, {.employer = 0, .comp = 100000});
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.employer[0] == 1);
  CHECK(r.comp[0] == doctest::Approx(300000).epsilon(1e-6));
  CHECK(market(sim, model::kJobToJob) == 1);
  CHECK(market(sim, model::kCounterRaises) == 0);
  CHECK(sim.poaching().at({0, 1}) == 1);
}

TEST_CASE("model: match - an offer up to the maximum is matched, one above it takes the researcher away") {
  // Inc: standard pay 100000·θ, match, max_raise 1 ⇒ maximum 200000·θ. Poacher offers
  // 150000 to everyone (elasticity 0). Slot 0: θ 1, comp 100000, max 200000 ≥ 150000 ⇒
  // stays, raised to exactly the offer (150000). Slot 1: θ 0.5, comp 50000, max 100000 <
  // 150000 ⇒ leaves, paid the offer 150000.
  const std::string firms =
      "  - {name: Inc, hq: US, headcount: 2, pay: {base: 100000, max_package: 10000000},"
      " retention: {rule: match, max_raise: 1}}\n"
      "  - {name: Poach, hq: US, headcount: 5, pay: {base: 150000, elasticity: 0, max_package: 10000000}}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", firms), {"population.researchers=2", "market.lambda1=1"});
  put(sim, 0, {.talent = 1.f, .employer = 0, .comp = 100000});
  put(sim, 1, {.talent = 0.5f, .employer = 0, .comp = 50000});
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.employer[0] == 0);
  CHECK(r.comp[0] == doctest::Approx(150000).epsilon(1e-6));
  CHECK(r.ref_offer[0] == doctest::Approx(150000));
  CHECK(r.employer[1] == 1);
  CHECK(r.comp[1] == doctest::Approx(150000));
  CHECK(market(sim, model::kCounterRaises) == 1);
  CHECK(market(sim, model::kJobToJob) == 1);
}

TEST_CASE("model: without counteroffers a better offer moves the researcher at the offer's pay, a worse one is declined") {
  // Retention none (Burdett–Mortensen): slot 0 earns 100000 < 150000 offer ⇒ moves at
  // 150000; slot 1 earns 200000 > 150000 ⇒ stays at 200000, no raise.
  const std::string firms =
      "  - {name: Inc, hq: US, headcount: 2}\n"
      "  - {name: Poach, hq: US, headcount: 5, pay: {base: 150000, elasticity: 0}}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", firms), {"population.researchers=2", "market.lambda1=1"});
  put(sim, 0, {.employer = 0, .comp = 100000});
  put(sim, 1, {.employer = 0, .comp = 200000});
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.employer[0] == 1);
  CHECK(r.comp[0] == doctest::Approx(150000));
  CHECK(r.employer[1] == 0);
  CHECK(r.comp[1] == doctest::Approx(200000));
  CHECK(market(sim, model::kCounterRaises) == 0);
}

// ================================================================ clearing (§4.6)

TEST_CASE("model: clearing accepts at most the vacancies, most talented first, ties by uid") {
  // Lab: target 2, no staff ⇒ 2 vacancies. Four unemployed with θ {1, 3, 2, 2} all accept
  // (λ0 = 1). Slots 2 and 3 tie at θ 2; their uids are set to 10 and 5, so uid order
  // differs from slot order. Accepted: slot 1 (θ 3) and slot 3 (θ 2, uid 5); rejected 2.
  auto sim = make(scenario("  US: {pay_level: 1}\n", "  - {name: Lab, hq: US, headcount: 2}\n"),
                  {"population.researchers=4", "market.lambda0=1"});
  const float th[] = {1, 3, 2, 2};
  for (std::size_t i = 0; i < 4; ++i) put(sim, i, {.talent = th[i]});
  sim.edit_world().r.uid[2] = 10;
  sim.edit_world().r.uid[3] = 5;
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.employer[0] == kNoFirm);
  CHECK(r.employer[1] == 0);
  CHECK(r.employer[2] == kNoFirm);
  CHECK(r.employer[3] == 0);
  CHECK(market(sim, model::kRejectedByCapacity) == 2);
  CHECK(market(sim, model::kHires) == 2);
  CHECK(sim.world().f.vacancies[0] == 0);
  CHECK(sim.world().f.headcount[0] == 2);
}

// ============================================================= firm planning (§4.3)

TEST_CASE("model: an export control lowers compute per researcher, except at an exempt office abroad") {
  // CNLab (CN-controlled, offices CN and US) and USLab: budget 1e6 × 10, compute share 0.5,
  // gpu_cost 25000 ⇒ compute 200 GPUs; 4 staff each ⇒ 50 per researcher. Export control on
  // CN, multiplier 0.5: (CNLab, CN) = 25; (CNLab, US) = 50 if exempt, 25 if not; USLab 50.
  const std::string firms =
      "  - {name: CNLab, hq: CN, offices: {CN: 0.5, US: 0.5}, headcount: 10, budget_per_head: 1000000, compute_share: 0.5}\n"
      "  - {name: USLab, hq: US, headcount: 10, budget_per_head: 1000000, compute_share: 0.5}\n";
  for (const bool exempt : {true, false}) {
    CAPTURE(exempt);
    const std::string events = std::string("events:\n  - {type: export_control, at: 0, region: CN, multiplier: 0.5, "
                                           "exempt_offices_abroad: ") + (exempt ? "true" : "false") + "}\n";
    auto sim = make(scenario(kTwoRegions, firms, events), {"population.researchers=8"});
    const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
    for (std::size_t i = 0; i < 8; ++i)
      put(sim, i, {.origin = CN, .location = i % 2 ? US : CN, .status = i % 2 ? Status::Permanent : Status::Citizen,
                   .employer = int32_t(i / 4), .comp = 150000});
    begin(sim);
    sim.firm_planning();  // before the event
    CHECK(sim.world().f.compute[0] == doctest::Approx(200));
    CHECK(sim.compute_per_researcher(0, CN) == doctest::Approx(50));
    CHECK(sim.compute_per_researcher(0, US) == doctest::Approx(50));
    sim.events();
    sim.firm_planning();
    CHECK(sim.compute_per_researcher(0, CN) == doctest::Approx(25));
    CHECK(sim.compute_per_researcher(0, US) == doctest::Approx(exempt ? 50 : 25));
    CHECK(sim.compute_per_researcher(1, US) == doctest::Approx(50));
    CHECK(sim.compute_per_researcher(1, CN) == doctest::Approx(50));
  }
}

TEST_CASE("model: regions.CN.compute_multiplier acts like an export control from the start") {
  auto sim = make(scenario("  US: {pay_level: 1}\n  CN: {compute_multiplier: 0.25, exempt_offices_abroad: true}\n",
                           "  - {name: CNLab, hq: CN, offices: {CN: 0.5, US: 0.5}, headcount: 1, budget_per_head: 1000000,"
                           " compute_share: 0.5}\n"),
                  {"population.researchers=1"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = CN, .employer = 0, .comp = 150000});
  begin(sim);
  sim.firm_planning();
  // compute = 1e6 · 0.5 / 25000 = 20 GPUs, 1 researcher.
  CHECK(sim.compute_per_researcher(0, CN) == doctest::Approx(5));
  CHECK(sim.compute_per_researcher(0, US) == doctest::Approx(20));
}

// ================================================================ production (§4.8)

TEST_CASE("model: production Y = scale·A·(sum theta)^alpha·C^beta, split over researchers in proportion to theta") {
  // Lab: A = 2, budget 1e6 × 10, compute share 0.25, gpu_cost 25000 ⇒ C = 100;
  // α = β = 0.5, scale 0.01. Staff θ: 1 (in US, CN origin), 3 (in CN, CN origin),
  // 5 (in US, US origin) ⇒ Σθ = 9, Y = 0.01·2·√9·√100 = 0.6, i.e. 0.6/9 per unit θ.
  // By region: US 6/9·0.6 = 0.4, CN 0.2. By origin: CN 4/9·0.6, US 5/9·0.6.
  const std::string firms =
      "  - {name: Lab, hq: US, offices: {US: 0.5, CN: 0.5}, headcount: 10, budget_per_head: 1000000,"
      " compute_share: 0.25, productivity: 2}\n";
  const std::string prod = "production: {alpha: 0.5, beta: 0.5, scale: 0.01, gpu_cost: 25000}\n";
  auto sim = make(scenario(kTwoRegions, firms, prod), {"population.researchers=4"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = US, .status = Status::Permanent, .talent = 1, .employer = 0, .comp = 1e5});
  put(sim, 1, {.origin = CN, .location = CN, .talent = 3, .employer = 0, .comp = 1e5});
  put(sim, 2, {.origin = US, .location = US, .talent = 5, .employer = 0, .comp = 1e5});
  put(sim, 3, {.origin = US, .location = US, .talent = 7});  // unemployed: produces nothing
  sim.refresh_tiers();
  begin(sim);
  sim.firm_planning();
  CHECK(sim.world().f.compute[0] == doctest::Approx(100));
  sim.production();
  const auto& r = sim.world().r;
  const auto& st = sim.stats();
  CHECK(sim.world().f.output[0] == doctest::Approx(0.6));
  CHECK(sim.world().f.sum_theta[0] == doctest::Approx(9));
  CHECK(r.output[0] == doctest::Approx(0.6 / 9));
  CHECK(r.output[1] == doctest::Approx(0.2));
  CHECK(r.output[2] == doctest::Approx(3.0 / 9));
  CHECK(r.output[3] == 0.f);
  CHECK(st.output_region[US] == doctest::Approx(0.4));
  CHECK(st.output_region[CN] == doctest::Approx(0.2));
  CHECK(st.output_origin[CN] == doctest::Approx(0.6 * 4 / 9));
  CHECK(st.output_origin[US] == doctest::Approx(0.6 * 5 / 9));
  CHECK(st.output_region[US] + st.output_region[CN] == doctest::Approx(0.6));
  CHECK(st.output_origin[US] + st.output_origin[CN] == doctest::Approx(0.6));

  SUBCASE("a service restriction on the controlling region lowers A") {
    // penalty 0.25 on US-controlled firms ⇒ A = 2·0.75 ⇒ Y = 0.45.
    sim.edit_world().reg.service_penalty[US] = 0.25;
    begin(sim);
    sim.production();
    CHECK(sim.world().f.output[0] == doctest::Approx(0.45));
    CHECK(st.output_region[US] + st.output_region[CN] == doctest::Approx(0.45));
    CHECK(r.output[1] == doctest::Approx(0.2 + 0.15));  // accumulated over the two calls
  }
  SUBCASE("a service restriction on another region does not") {
    sim.edit_world().reg.service_penalty[CN] = 0.25;
    begin(sim);
    sim.production();
    CHECK(sim.world().f.output[0] == doctest::Approx(0.6));
  }
}

TEST_CASE("model: export controls reduce the compute that enters production") {
  // CN-controlled Lab, C = 100 before controls, A = 1, α = β = 0.5, scale 0.01, staff θ 2 in
  // CN and θ 2 in US (Σθ = 4). Multiplier 0.25, not exempt ⇒ C = 25 ⇒ Y = 0.01·2·5 = 0.1.
  // Exempt ⇒ the US half keeps 1: C = 100·(0.25·2 + 1·2)/4 = 62.5 ⇒ Y = 0.01·2·√62.5.
  // (Both offices have the same Σθ and headcount, so θ- and headcount-weighting agree.)
  const std::string firms =
      "  - {name: Lab, hq: CN, offices: {US: 0.5, CN: 0.5}, headcount: 10, budget_per_head: 1000000,"
      " compute_share: 0.25}\n";
  const std::string prod = "production: {alpha: 0.5, beta: 0.5, scale: 0.01, gpu_cost: 25000}\n";
  for (const bool exempt : {false, true}) {
    CAPTURE(exempt);
    auto sim = make(scenario(kTwoRegions, firms, prod), {"population.researchers=2"});
    const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
    put(sim, 0, {.origin = CN, .location = CN, .talent = 2, .employer = 0, .comp = 1e5});
    put(sim, 1, {.origin = CN, .location = US, .status = Status::Permanent, .talent = 2, .employer = 0, .comp = 1e5});
    sim.edit_world().reg.compute_multiplier[CN] = 0.25;
    sim.edit_world().reg.exempt_abroad[CN] = exempt;
    begin(sim);
    sim.firm_planning();
    sim.production();
    CHECK(sim.world().f.output[0] == doctest::Approx(exempt ? 0.02 * std::sqrt(62.5) : 0.1));
  }
}

// ======================================================================= pay (§4.9)

TEST_CASE("model: annual raises fall exactly on tenure multiples of 12 and stop at max_package") {
  // annual_raise 0.1, max_package 100000. Tenure is counted up in demography, raises in pay.
  //   slot 0: tenure 11 → 12: 50000 → 55000; at tenure 24 (12 steps later): 60500.
  //   slot 1: tenure 10 → 11: no raise; raised one step later at tenure 12.
  //   slot 2: tenure 23 → 24: 95000·1.1 = 104500, capped at 100000.
  //   slot 3: comp 150000 above the cap: not raised, not cut.
  //   slot 4: unemployed: nothing.
  auto sim = make(scenario("  US: {pay_level: 1}\n",
                           "  - {name: Lab, hq: US, headcount: 10, pay: {annual_raise: 0.1, max_package: 100000}}\n"),
                  {"population.researchers=5"});
  put(sim, 0, {.employer = 0, .comp = 50000, .tenure = 11});
  put(sim, 1, {.employer = 0, .comp = 50000, .tenure = 10});
  put(sim, 2, {.employer = 0, .comp = 95000, .tenure = 23});
  put(sim, 3, {.employer = 0, .comp = 150000, .tenure = 11});
  put(sim, 4, {});
  const auto& r = sim.world().r;
  sim.step();
  CHECK(r.tenure[0] == 12);
  CHECK(r.comp[0] == doctest::Approx(55000));
  CHECK(r.comp[1] == doctest::Approx(50000));
  CHECK(r.comp[2] == doctest::Approx(100000));
  CHECK(r.comp[3] == doctest::Approx(150000));
  CHECK(r.comp[4] == 0.f);
  sim.step();  // slot 0 at tenure 13: no raise; slot 1 reaches tenure 12: raised now
  CHECK(r.comp[0] == doctest::Approx(55000));
  CHECK(r.tenure[1] == 12);
  CHECK(r.comp[1] == doctest::Approx(55000));
  for (int t = 0; t < 11; ++t) sim.step();
  CHECK(r.tenure[0] == 24);
  CHECK(r.comp[0] == doctest::Approx(60500));
}

// ================================================================ demography (§4.2)

TEST_CASE("model: entrants are floor(expected) plus a Bernoulli for the fraction, students abroad hold student visas") {
  // CN: 10 graduates a month × propensity 0.5 = exactly 5 entrants per month (fraction 0).
  // study_abroad {US: 1} ⇒ all located in the US on a student visa of student_visa_months 12.
  auto sim = make(scenario("  US: {student_visa_months: 12}\n"
                           "  CN: {entrants_per_month: 10, ai_propensity: 0.5, study_abroad: {US: 1}}\n",
                           "  - {name: Lab, hq: US, headcount: 1}\n"),
                  {"population.researchers=2"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = US, .location = US});
  put(sim, 1, {.origin = US, .location = US});
  for (int t = 0; t < 3; ++t) {
    const std::size_t before = sim.world().r.size();
    sim.edit_world().step = t;
    begin(sim);
    sim.demography();
    const auto& r = sim.world().r;
    CHECK(market(sim, model::kEntrants) == 5);
    CHECK(count_kind(sim, LogKind::Entry) == 5);
    REQUIRE(r.size() == before + 5);
    std::set<uint64_t> uids;
    for (std::size_t i = before; i < r.size(); ++i) {
      CHECK(r.alive[i] == 1);
      CHECK(r.origin[i] == CN);
      CHECK(r.location[i] == US);
      CHECK(Status(r.status[i]) == Status::StudentVisa);
      CHECK(r.visa_left[i] == 12);
      CHECK(r.employer[i] == kNoFirm);
      CHECK(r.age[i] >= 22 * 12);
      CHECK(r.age[i] <= 30 * 12);
      uids.insert(r.uid[i]);
    }
    CHECK(uids.size() == 5);
  }
}

TEST_CASE("model: a fractional expected number of entrants adds one entrant with that probability") {
  // 25 origin regions with 10 × 0.45 = 4.5 expected entrants each ⇒ 4 or 5 entrants per
  // region and month, 5 with probability 0.5, drawn independently per (step, region).
  // Over 8 months × 25 regions = 200 draws the count of 5s is Binomial(200, 0.5):
  // 100 ± 5·√50 ≈ 100 ± 35 (seed 11). Without study abroad entrants are citizens at home.
  std::string regions;
  for (int k = 0; k < 25; ++k) regions += "  R" + std::to_string(k) + ": {entrants_per_month: 10, ai_propensity: 0.45}\n";
  auto sim = make(scenario(regions, "  - {name: Lab, hq: R0, headcount: 1}\n"), {"population.researchers=1"});
  const auto& r = sim.world().r;
  int fives = 0;
  for (int t = 0; t < 8; ++t) {
    sim.edit_world().step = t;
    const std::size_t before = r.size();
    begin(sim);
    sim.demography();
    std::vector<int> per_origin(25, 0);
    for (std::size_t i = before; i < r.size(); ++i) {
      ++per_origin[r.origin[i]];
      CHECK(r.location[i] == r.origin[i]);
      CHECK(Status(r.status[i]) == Status::Citizen);
    }
    for (int n : per_origin) {
      CHECK((n == 4 || n == 5));
      fives += n == 5;
    }
  }
  CAPTURE(fives);
  CHECK(std::abs(fives - 100) < 35);
}

TEST_CASE("model: tiers - 1000 researchers, elite_share 0.01 gives exactly the 10 most talented") {
  auto sim = make(scenario("  US: {pay_level: 1}\n", "  - {name: Lab, hq: US, headcount: 1}\n"),
                  {"population.researchers=1000", "market.elite_share=0.01", "market.top_share=0.05"});
  const auto& r = sim.world().r;
  std::vector<float> th(r.talent.begin(), r.talent.end());
  std::sort(th.begin(), th.end(), std::greater<>());
  REQUIRE(std::adjacent_find(th.begin(), th.end()) == th.end());  // distinct talents
  int64_t elite = 0, top = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    elite += r.tier[i] == model::Elite;
    top += r.tier[i] == model::Top;
    CHECK((r.tier[i] == model::Elite) == (r.talent[i] >= th[9]));
    CHECK((r.tier[i] != model::Regular) == (r.talent[i] >= th[49]));
  }
  CHECK(elite == 10);
  CHECK(top == 40);  // top share 5% = 50 including the 10 elite
}

// ============================================================== decision rule (§3)

TEST_CASE("model: utility is a ln pay + c ln(1 + compute) + g prestige + h home - v visa_risk - m move") {
  // Weights a = 2, g = 0.5, v = 3, wait_cost 0.01, m = 0.2, noise 0; the researcher's own
  // c_i = 0.4, h_i = 0.7 are set by hand. US rule for CN: approval 0.8, processing 5 ⇒
  // visa_risk = (1 − 0.8) + 0.01·5 = 0.25 for a CN citizen in CN moving to the US.
  // Lab (prestige 2): compute 1e6·10·0.5/25000 = 200 GPUs over 4 staff = 50 per researcher.
  const std::string regions =
      "  US: {visa: {approval: 0.8, processing_months: 5}}\n"
      "  CN: {pay_level: 1}\n";
  const std::string firms =
      "  - {name: Lab, hq: US, offices: {US: 1, CN: 1}, headcount: 10, budget_per_head: 1000000, compute_share: 0.5,"
      " prestige: 2}\n";
  auto sim = make(scenario(regions, firms),
                  {"population.researchers=5", "market.utility.pay=2", "market.utility.prestige=0.5",
                   "market.utility.visa_risk=3", "market.utility.wait_cost=0.01", "market.utility.move_cost=0.2"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  for (std::size_t i = 1; i < 5; ++i) put(sim, i, {.origin = US, .location = US, .employer = 0, .comp = 1e5});
  put(sim, 0, {.origin = CN, .location = CN});
  sim.edit_world().r.compute_taste[0] = 0.4f;
  sim.edit_world().r.home_bias[0] = 0.7f;
  begin(sim);
  sim.firm_planning();
  REQUIRE(sim.compute_per_researcher(0, US) == doctest::Approx(50));
  CHECK(sim.visa_risk(0, US) == doctest::Approx(0.25));
  CHECK(sim.visa_risk(0, CN) == 0.0);
  const double c = double(0.4f), h = double(0.7f);
  // Move to the US office: no home bias, visa risk and move cost apply.
  CHECK(sim.utility(0, 0, US, 200000, true, 1) ==
        doctest::Approx(2 * std::log(200000.0) + c * std::log1p(50.0) + 0.5 * 2 - 3 * 0.25 - 0.2));
  // Move to the CN office: home bias, no visa risk.
  CHECK(sim.utility(0, 0, CN, 200000, true, 1) ==
        doctest::Approx(2 * std::log(200000.0) + c * std::log1p(50.0) + 0.5 * 2 + h - 0.2));
  // Staying unemployed at home: pay term and home bias only.
  CHECK(sim.utility(0, kNoFirm, CN, 30000, false, 0) == doctest::Approx(2 * std::log(30000.0) + h));
}

// ==================================================================== events (§4.1)

// BUG (see report): a `set` event reloads every region's compute_multiplier,
// exempt_offices_abroad and service_penalty from the parameters, silently undoing earlier
// export_control and service_restriction events even when it changes an unrelated key.
TEST_CASE("model: a set event does not undo an earlier export control or service restriction") {
  const std::string events =
      "events:\n"
      "  - {type: export_control, at: 0, region: CN, multiplier: 0.5, exempt_offices_abroad: false}\n"
      "  - {type: service_restriction, at: 0, region: CN, penalty: 0.2}\n"
      "  - {type: set, at: 1, key: market.lambda0, value: \"0.1\"}\n";
  auto sim = make(scenario(kTwoRegions, "  - {name: CNLab, hq: CN, headcount: 1}\n", events), {"population.researchers=1"});
  const int CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = CN});
  sim.step();
  REQUIRE(sim.world().reg.compute_multiplier[CN] == doctest::Approx(0.5));
  sim.step();  // the set event: only market.lambda0 changes
  CHECK(sim.params().market.lambda0 == doctest::Approx(0.1));
  CHECK(sim.world().reg.compute_multiplier[CN] == doctest::Approx(0.5));
  CHECK(sim.world().reg.exempt_abroad[CN] == 0);
  CHECK(sim.world().reg.service_penalty[CN] == doctest::Approx(0.2));
}

TEST_CASE("model: a set event changes a parameter from its step on") {
  // market.lambda0 0 → 1 at step 2: the unemployed get no offers in steps 0 and 1 and
  // all get one in step 2.
  const std::string events = "events:\n  - {type: set, at: 2, key: market.lambda0, value: \"1\"}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n", "  - {name: Lab, hq: US, headcount: 1, hiring: {unlimited: true}}\n",
                           events),
                  {"population.researchers=3"});
  for (std::size_t i = 0; i < 3; ++i) put(sim, i, {});
  for (int t = 0; t < 2; ++t) {
    sim.step();
    CHECK(sim.params().market.lambda0 == 0.0);
    CHECK(sim.pending_offers().empty());
  }
  sim.step();
  CHECK(sim.params().market.lambda0 == 1.0);
  CHECK(sim.pending_offers().size() == 3);
  CHECK(market(sim, model::kHires) == 3);
}

TEST_CASE("model: office_close makes the office's staff lose their jobs") {
  // Lab has offices US and CN; closing CN at step 0 separates the 2 CN staff, keeps the
  // 2 US staff, and the closed office no longer receives random-search hires (office_open 0).
  const std::string events = "events:\n  - {type: office_close, at: 0, firm: Lab, region: CN}\n";
  auto sim = make(scenario(kTwoRegions, "  - {name: Lab, hq: US, offices: {US: 0.5, CN: 0.5}, headcount: 4}\n", events),
                  {"population.researchers=4"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  for (std::size_t i = 0; i < 4; ++i) {
    const int loc = i < 2 ? CN : US;
    put(sim, i, {.origin = loc, .location = loc, .employer = 0, .comp = 1e5});
  }
  sim.step();
  const auto& r = sim.world().r;
  CHECK(r.employer[0] == kNoFirm);
  CHECK(r.employer[1] == kNoFirm);
  CHECK(r.employer[2] == 0);
  CHECK(r.employer[3] == 0);
  CHECK(count_kind(sim, LogKind::Separation) == 2);
  const auto& F = sim.world().f;
  for (uint32_t o = F.office_begin[0]; o < F.office_begin[1]; ++o)
    CHECK(F.office_open[o] == (F.office_region[o] == CN ? 0 : 1));
  CHECK(F.headcount[0] == 2);
}

TEST_CASE("model: budget_shock scales budget and target, compute_shock scales compute, service_restriction sets the penalty") {
  // Lab: budget 1e6 × 10 = 1e7, target 10, compute 1e7·0.5/25000 = 200.
  // budget_shock ×1.5 at step 0 ⇒ budget 1.5e7, target 15, compute 300;
  // compute_shock ×0.5 at step 1 ⇒ compute 150; service_restriction 0.3 on US at step 1.
  const std::string events =
      "events:\n"
      "  - {type: budget_shock, at: 0, firm: Lab, factor: 1.5}\n"
      "  - {type: compute_shock, at: 1, firm: Lab, factor: 0.5}\n"
      "  - {type: service_restriction, at: 1, region: US, penalty: 0.3}\n";
  auto sim = make(scenario("  US: {pay_level: 1}\n",
                           "  - {name: Lab, hq: US, headcount: 10, budget_per_head: 1000000, compute_share: 0.5}\n", events),
                  {"population.researchers=1"});
  const int US = sim.params().region_index("US");
  put(sim, 0, {});
  const auto& F = sim.world().f;
  CHECK(F.budget[0] == doctest::Approx(1e7));
  sim.step();
  CHECK(F.budget[0] == doctest::Approx(1.5e7));
  CHECK(F.target[0] == doctest::Approx(15));
  CHECK(F.compute[0] == doctest::Approx(300));
  CHECK(F.vacancies[0] == 15);
  CHECK(sim.world().reg.service_penalty[US] == 0.0);
  sim.step();
  CHECK(F.compute[0] == doctest::Approx(150));
  CHECK(sim.world().reg.service_penalty[US] == doctest::Approx(0.3));
}

TEST_CASE("model: several set events in the same step are all applied (regression: dangling event list)") {
  auto p = test::params_from(R"(
run: {steps: 4}
regions: {A: {}, B: {}}
population: {researchers: 200, origin_shares: {A: 1.0}, ageing: false, exit_rate: 0}
firms: [{name: f, hq: A, headcount: 100}]
events:
  - {type: set, at: 1, key: market.lambda0, value: "0.5"}
  - {type: set, at: 1, key: market.lambda1, value: "0.25"}
  - {type: set, at: 1, key: regions.B.petition_fee, value: "1234"}
  - {type: set, at: 1, key: firms.f.visa.max_fee, value: "99"}
)");
  model::Simulation sim(p);
  sim.set_checking(true);
  for (int t = 0; t < 4; ++t) sim.step();
  CHECK(sim.params().market.lambda0 == 0.5);
  CHECK(sim.params().market.lambda1 == 0.25);
  CHECK(sim.params().regions[1].petition_fee == 1234.0);
  CHECK(sim.world().f.max_fee[0] == 99.0);
  CHECK(sim.params().events.size() == 4);
}

TEST_CASE("model: a forced departure goes to a third region with open residence when the share says so") {
  // As the grace-period case (expiry at step 0, grace 0 ⇒ departure in the same step), with
  // US third_region_share 1 and CA open: the researcher settles in CA with permanent residence,
  // not home in CN. With share 0 the departure goes home.
  for (const double share : {1.0, 0.0}) {
    CAPTURE(share);
    auto sim = make(scenario("  US: {max_renewals: 0, grace_months: 0, third_region_share: " + std::to_string(share) + "}\n"
                             "  CN: {pay_level: 1}\n  CA: {open_residence: true}\n",
                             "  - {name: USLab, hq: US, headcount: 5}\n"),
                    {"population.researchers=1"});
    const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN"),
              CA = sim.params().region_index("CA");
    put(sim, 0, {.origin = CN, .location = US, .status = Status::WorkVisa, .employer = 0, .comp = 150000, .visa_left = 1});
    sim.step();
    const auto& r = sim.world().r;
    CHECK(visa_stat(sim, CN, model::kVisaForcedDepartures) == 1);
    if (share == 1.0) {
      CHECK(r.location[0] == CA);
      CHECK(Status(r.status[0]) == Status::Permanent);
      CHECK(flow(sim, US, CA) == 1);
    } else {
      CHECK(r.location[0] == CN);
      CHECK(Status(r.status[0]) == Status::Citizen);
      CHECK(flow(sim, US, CN) == 1);
    }
  }
}

TEST_CASE("model: the pay schedule is base · regional pay level · θ^elasticity, for every elasticity") {
  // MODEL.md's standard pay w = base · level_region · θ^e, evaluated for offers and counteroffers.
  // Elasticities 0 and 1 (the textbook reductions and the leading labs) take a shortcut past
  // pow; the values must still be exactly base · level · pow(θ, e), as for any other e.
  const std::string regions = "  US: {pay_level: 1.0}\n  EU: {pay_level: 0.8}\n";
  const std::string firms =
      "  - {name: Flat, hq: US, headcount: 1, pay: {base: 120000, elasticity: 0.0}}\n"
      "  - {name: Linear, hq: US, headcount: 1, pay: {base: 300000, elasticity: 1.0}}\n"
      "  - {name: Concave, hq: US, headcount: 1, pay: {base: 250000, elasticity: 0.85}}\n"
      "  - {name: Steep, hq: US, headcount: 1, pay: {base: 90000, elasticity: 2.5}}\n";
  auto sim = make(scenario(regions, firms));
  const auto& F = sim.world().f;
  for (const char* name : {"Flat", "Linear", "Concave", "Steep"})
    for (const char* region : {"US", "EU"})
      for (const float theta : {0.013f, 0.37f, 1.0f, 1.7f, 2.5f, 13.7f, 420.0f}) {
        CAPTURE(name);
        CAPTURE(region);
        CAPTURE(theta);
        const int f = sim.firm_index(name), g = sim.params().region_index(region);
        const double expected =
            F.base_pay[f] * sim.params().regions[std::size_t(g)].pay_level * std::pow(double(theta), F.elasticity[f]);
        CHECK(sim.standard_pay(f, g, theta) == expected);  // exact: same value, not merely close
      }
}

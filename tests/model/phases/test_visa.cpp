// The visa phase (MODEL.md §4.7): petitions, approvals, caps, expiries, renewals, residency, departures.
#include <doctest/doctest.h>

#include "tests/model/phases/mechanisms.hpp"

using namespace ts;
using namespace ts::test::mech;

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
TEST_CASE("model: a petition is decided exactly processing_months steps after it is filed; the waiting researcher gets no offers") {
  // Petition filed in clearing at step 0 (λ0 = 1 brings the USLab offer at once). Clearing sets
  // the clock to processing + 1 and the visa phase of every step, that one included, counts a
  // month down, so the decision (approval 1) and the move fall in step `processing`: in the
  // same step for 0, then 1, 2, 3 and 5 steps later. While waiting, no offer arrives (λ0 = 1
  // would bring one every step otherwise).
  for (const int processing : {0, 1, 2, 3, 5}) {
    CAPTURE(processing);
    const std::string regions = "  US: {visa: {approval: 1, processing_months: " + std::to_string(processing) +
                                "}}\n  CN: {pay_level: 1}\n";
    auto sim = make(scenario(regions, "  - {name: USLab, hq: US, headcount: 5}\n"),
                    {"population.researchers=1", "market.lambda0=1"});
    const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
    put(sim, 0, {.origin = CN, .location = CN});
    const auto& r = sim.world().r;
    int moved_at = -1;
    for (int t = 0; t <= processing + 2; ++t) {
      sim.step();
      if (t == 0) CHECK(visa_stat(sim, CN, model::kVisaApplications) == 1);
      if (t < processing) CHECK(r.pending_firm[0] == sim.firm_index("USLab"));
      if (t >= 1 && t <= processing) CHECK(sim.pending_offers().empty());  // waiting through offers: none
      if (moved_at < 0 && r.location[0] == US) {
        moved_at = t;
        CHECK(visa_stat(sim, CN, model::kVisaApprovals) == 1);
      }
    }
    CHECK(moved_at == processing);
    CHECK(r.employer[0] == sim.firm_index("USLab"));
    CHECK(Status(r.status[0]) == Status::WorkVisa);
  }
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

TEST_CASE("model: a petition exempt by talent costs talent_petition_fee, not petition_fee") {
  // The $100k H-1B fee [P3] is not charged on the O-1: petition_fee 105,000, talent_petition_fee
  // 5,000, a sponsor paying up to 50,000. Two CN researchers in CN, one regular (θ 1) and one of
  // the top tier (θ 100; top_share 0.5 of 2): with cap_exempt_talent top only the top-tier
  // researcher's offer survives; without the exemption (none), or with talent_petition_fee -1
  // (the same fee for all), neither does.
  for (const std::string extra : {"cap_exempt_talent: top, talent_petition_fee: 5000",
                                  "cap_exempt_talent: none, talent_petition_fee: 5000",
                                  "cap_exempt_talent: top, talent_petition_fee: -1"}) {
    CAPTURE(extra);
    const std::string regions = "  US: {petition_fee: 105000, " + extra + "}\n  CN: {pay_level: 1}\n";
    auto sim = make(scenario(regions, "  - {name: USLab, hq: US, headcount: 5, visa: {sponsors: true, max_fee: 50000}}\n"),
                    {"population.researchers=2", "market.lambda0=1", "market.top_share=0.5", "market.elite_share=0"});
    const int CN = sim.params().region_index("CN");
    put(sim, 0, {.origin = CN, .location = CN, .talent = 1.f});
    put(sim, 1, {.origin = CN, .location = CN, .talent = 100.f});
    up_to_offers(sim);
    REQUIRE(sim.world().r.tier[1] == model::Top);
    if (extra == "cap_exempt_talent: top, talent_petition_fee: 5000") {
      REQUIRE(sim.pending_offers().size() == 1);
      CHECK(sim.pending_offers()[0].slot == 1);
    } else {
      CHECK(sim.pending_offers().empty());
    }
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

TEST_CASE("model: the residency queue grants pending applications at pr_rate / 12 per month") {
  // 6000 CN-origin work-visa holders in the US with long visas, each with an application filed
  // by the sponsoring employer 6 months ago. pr_rate 0 ⇒ nobody in 12 steps. pr_rate 1
  // (yearly) ⇒ Binomial(6000, 1/12) in one step: mean 500, sd √(6000·(1/12)·(11/12)) ≈ 21.4;
  // tolerance 5 sd (seed 11).
  for (const double rate : {0.0, 1.0}) {
    CAPTURE(rate);
    auto sim = make(scenario("  US: {visa: {pr_rate: " + std::to_string(rate) + "}}\n  CN: {pay_level: 1}\n",
                             "  - {name: USLab, hq: US, headcount: 6000}\n"),
                    {"population.researchers=6000"});
    const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
    for (std::size_t i = 0; i < 6000; ++i) {
      put(sim, i, {.origin = CN, .location = US, .status = Status::WorkVisa, .employer = 0, .comp = 150000, .visa_left = 100});
      sim.edit_world().r.residency[i] = 6;
    }
    const auto& r = sim.world().r;
    auto permanent = [&] { return std::count(r.status.begin(), r.status.end(), uint8_t(Status::Permanent)); };
    if (rate == 0.0) {
      for (int t = 0; t < 12; ++t) sim.step();
      CHECK(permanent() == 0);
      CHECK(r.residency[0] == 18);  // still waiting, a year longer
    } else {
      sim.step();
      const auto n = permanent();
      CHECK(visa_stat(sim, CN, model::kVisaPermanent) == n);
      CHECK(sim.stats().visa[sim.stats().visa_at(US, CN, model::kVisaPermanent)] == n);  // in the US
      CHECK(count_kind(sim, LogKind::PermanentResidency) == n);
      CHECK(std::abs(double(n) - 500.0) < 5 * 21.4);
      for (std::size_t i = 0; i < 6000; ++i)
        CHECK(r.residency[i] == (Status(r.status[i]) == Status::Permanent ? -1 : 7));
    }
  }
}

TEST_CASE("model: a sponsoring employer files for residency after residency_after_months; the visa is extended while it waits") {
  // A CN-origin work-visa holder in the US, on USLab's staff for 10 months, visa 5 months left,
  // no renewals allowed (max_renewals 0), queue rate 0 (nobody is granted). residency_after
  // 12 ⇒ the employer files when tenure reaches 12: the clocks tick first (tenure 11 after
  // step 0), so at step 1. The visa runs out at step 4 (5 → 0): without the application it
  // would expire (no renewal left); with it, it is extended by extension_months = 7. A
  // non-sponsoring employer never files: the visa then expires at step 4.
  for (const bool sponsors : {true, false}) {
    CAPTURE(sponsors);
    const std::string firms = std::string("  - {name: USLab, hq: US, headcount: 5, visa: {sponsors: ") +
                              (sponsors ? "true" : "false") + "}}\n";
    auto sim = make(scenario("  US: {max_renewals: 0, residency_after_months: 12, extension_months: 7,"
                             " visa: {pr_rate: 0}}\n  CN: {pay_level: 1}\n", firms),
                    {"population.researchers=1"});
    const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
    put(sim, 0, {.origin = CN, .location = US, .status = Status::WorkVisa, .employer = 0, .comp = 150000, .visa_left = 5,
                 .tenure = 10});
    const auto& r = sim.world().r;
    sim.step();  // step 0: tenure 11
    CHECK(r.residency[0] == -1);
    sim.step();  // step 1: tenure 12: filed
    CHECK(r.residency[0] == (sponsors ? 0 : -1));
    CHECK(visa_stat(sim, CN, model::kVisaResidencyApplications) == (sponsors ? 1 : 0));
    CHECK(count_kind(sim, LogKind::ResidencyFiled) == (sponsors ? 1 : 0));
    sim.step();  // 2
    sim.step();  // 3
    sim.step();  // 4: the visa runs out
    if (sponsors) {
      CHECK(visa_stat(sim, CN, model::kVisaExtensions) == 1);
      CHECK(Status(r.status[0]) == Status::WorkVisa);
      CHECK(r.visa_left[0] == 7);
      CHECK(r.employer[0] == 0);
      CHECK(r.residency[0] == 3);
    } else {
      CHECK(visa_stat(sim, CN, model::kVisaExpiries) == 1);
      CHECK(r.employer[0] == kNoFirm);
    }
    (void)US;
  }
}

TEST_CASE("model: a residency application lapses with the job") {
  // Waiting in the queue (residency 30 months), the researcher loses the job (δ = 1): the
  // application belonged to the employer and lapses.
  auto sim = make(scenario("  US: {visa: {pr_rate: 0}}\n  CN: {pay_level: 1}\n", "  - {name: USLab, hq: US, headcount: 5}\n"),
                  {"population.researchers=1", "market.separation=1"});
  const int US = sim.params().region_index("US"), CN = sim.params().region_index("CN");
  put(sim, 0, {.origin = CN, .location = US, .status = Status::WorkVisa, .employer = 0, .comp = 150000, .visa_left = 20});
  sim.edit_world().r.residency[0] = 30;
  sim.step();
  CHECK(sim.world().r.employer[0] == kNoFirm);
  CHECK(sim.world().r.residency[0] == -1);
  (void)US;
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

TEST_CASE("model: the wage-weighted lottery [P7] gives a petition one entry per wage level of the offered pay") {
  model::RegionParams d;
  d.lottery_selection = 0.3;
  d.wage_levels = {100000, 150000, 200000};
  // Uniform: one entry whatever the pay.
  CHECK(model::lottery_chance(d, 50000) == doctest::Approx(0.3));
  CHECK(model::lottery_chance(d, 1e7) == doctest::Approx(0.3));
  // Weighted: levels I–IV (thresholds inclusive) ⇒ 1 − 0.7^1 … 1 − 0.7^4.
  d.lottery = model::LotteryRule::WageWeighted;
  CHECK(model::lottery_chance(d, 99999) == doctest::Approx(0.3));
  CHECK(model::lottery_chance(d, 100000) == doctest::Approx(1 - 0.7 * 0.7));
  CHECK(model::lottery_chance(d, 150000) == doctest::Approx(1 - 0.7 * 0.7 * 0.7));
  CHECK(model::lottery_chance(d, 2e6) == doctest::Approx(1 - 0.7 * 0.7 * 0.7 * 0.7));
}

TEST_CASE("model: under the wage-weighted lottery well-paid petitions lose less often; the same draws decide") {
  // 400 CN researchers in CN accept a US offer (λ0 = 1) at pay 500,000 × θ ≥ level IV. Approval
  // 1, no cap, one entry wins with 0.3. Uniform: each loses with 0.7; weighted (4 entries): with
  // 0.7^4 = 0.2401. The lottery's uniform draw is the same in both runs (keyed by seed, step and
  // researcher), so every petition the uniform run selects is selected in the weighted one too.
  // Seed 11; tolerance 4 binomial sd (400 × 0.7 = 280 ± 37; 400 × 0.2401 = 96 ± 34).
  auto run = [](const std::string& lottery) {
    const std::string regions =
        "  US: {lottery_selection: 0.3, lottery: " + lottery +
        ", wage_levels: {level_2: 100000, level_3: 150000, level_4: 200000},"
        " visa: {approval: 1, processing_months: 0, capped: true}}\n"
        "  CN: {pay_level: 1}\n";
    auto sim = make(scenario(regions, "  - {name: USLab, hq: US, headcount: 1000, pay: {base: 500000}}\n"),
                    {"population.researchers=400", "market.lambda0=1"});
    const int CN = sim.params().region_index("CN");
    for (std::size_t i = 0; i < 400; ++i) put(sim, i, {.origin = CN, .location = CN, .talent = 1.f});
    sim.step();
    CHECK(visa_stat(sim, CN, model::kVisaApplications) == 400);
    std::vector<int> lost(400, 0);
    for (const auto& e : sim.stats().log)
      if (e.kind == uint8_t(LogKind::VisaLotteryLost)) lost[std::size_t(e.uid)] = 1;
    return std::pair{visa_stat(sim, CN, model::kVisaLotteryLosses), lost};
  };
  const auto [uniform, lost_u] = run("uniform");
  const auto [weighted, lost_w] = run("wage_weighted");
  CHECK(std::abs(double(uniform) - 280.0) <= 4 * std::sqrt(400 * 0.7 * 0.3));
  CHECK(std::abs(double(weighted) - 96.04) <= 4 * std::sqrt(400 * 0.2401 * 0.7599));
  for (std::size_t i = 0; i < 400; ++i) CHECK(lost_w[i] <= lost_u[i]);
}

TEST_CASE("model: with cap_exempt_talent the top tier's petitions skip the lottery; the others' are drawn as before") {
  // 400 CN researchers in CN with talents spread 1 … 400 (top tier the best 20%, elite 5%) accept a US offer (λ0 = 1). Approval 1,
  // no annual cap, one lottery entry wins with 0.3. Without the exemption each petition loses
  // with 0.7, whatever the tier; with cap_exempt_talent: top no researcher of the top tier or
  // the elite loses, and the regular tier's petitions lose exactly as in the first run (the
  // lottery's draw is keyed by seed, step and researcher). With `elite` only the elite is spared.
  auto run = [](const std::string& exempt) {
    const std::string regions = "  US: {lottery_selection: 0.3, cap_exempt_talent: " + exempt +
                                ", visa: {approval: 1, processing_months: 0, capped: true}}\n"
                                "  CN: {pay_level: 1}\n";
    auto sim = make(scenario(regions, "  - {name: USLab, hq: US, headcount: 1000, pay: {base: 500000}}\n"),
                    {"population.researchers=400", "market.lambda0=1", "market.top_share=0.2", "market.elite_share=0.05"});
    const int CN = sim.params().region_index("CN");
    for (std::size_t i = 0; i < 400; ++i) put(sim, i, {.origin = CN, .location = CN, .talent = 1.f + float(i)});
    sim.step();
    CHECK(visa_stat(sim, CN, model::kVisaApplications) == 400);
    std::vector<int> lost(400, 0), tier(400, 0);
    for (const auto& e : sim.stats().log)
      if (e.kind == uint8_t(LogKind::VisaLotteryLost)) lost[std::size_t(e.uid)] = 1;
    for (std::size_t i = 0; i < 400; ++i) tier[std::size_t(sim.world().r.uid[i])] = sim.world().r.tier[i];
    return std::pair{lost, tier};
  };
  const auto [lost_none, tier] = run("none");
  const auto [lost_top, tier_top] = run("top");
  const auto [lost_elite, tier_elite] = run("elite");
  CHECK(tier_top == tier);
  int top = 0, elite = 0, top_lost_before = 0;
  for (std::size_t i = 0; i < 400; ++i) {
    CAPTURE(i);
    top += tier[i] >= model::Top;
    elite += tier[i] == model::Elite;
    top_lost_before += tier[i] >= model::Top && lost_none[i];
    CHECK(lost_top[i] == (tier[i] >= model::Top ? 0 : lost_none[i]));
    CHECK(lost_elite[i] == (tier[i] == model::Elite ? 0 : lost_none[i]));
  }
  // The check compared something: some researchers are in each tier, and the lottery struck
  // some of the top tier without the exemption.
  CHECK(elite > 0);
  CHECK(top > elite);
  CHECK(top < 400);
  CHECK(top_lost_before > 0);
}

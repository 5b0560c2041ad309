// The ten phases of one step (MODEL.md §4), one source file each under phases/. Each phase
// is a struct with run(State&); a phase keeps between steps only scratch space (never state:
// a restored simulation starts with empty scratch and gives the same results).
#pragma once

#include <vector>

#include "sim/engine/parallel.hpp"
#include "sim/model/state.hpp"
#include "sim/model/terms.hpp"

namespace ts::model::phase {

/// 1. The scenario's timeline for this month: policy changes (`set`), raids, shocks, offices,
/// export controls, service restrictions, relocation orders (phases/events.cpp).
struct Events {
  void run(State& s);
};

/// 2. Ageing and the clocks; exits from the field and separations to unemployment; entrants
/// through the education pipeline (phases/demography.cpp).
struct Demography {
  void run(State& s);
};

/// 3. Budgets → compute and target headcount → vacancies; the firm sampler of random search
/// (phases/planning.cpp).
struct FirmPlanning {
  void run(State& s);
};

/// 4. Offers by random search and targeted search; each researcher keeps the best
/// (phases/offers.cpp).
struct Offers {
  void run(State& s);
  /// The firms' terms of this step (a cache built at the start of run(); see OfferTerms).
  OfferTerms terms;
  /// Per-chunk offer lists, kept between steps for their capacity.
  engine::ChunkedBuffer<Offer> parts;
};

/// 5. Counteroffers by the current employer (none, match, Bertrand) (phases/retention.cpp).
struct Retention {
  void run(State& s);
};

/// 6. Firms accept movers up to their vacancies, most talented first (phases/clearing.cpp).
struct Clearing {
  void run(State& s);
  /// Per-step scratch kept for its capacity (the BM reduction moves about a tenth of the
  /// population a step): fresh allocations of that size would come back as page faults.
  std::vector<Mover> accepted;
  std::vector<MoveRecord> done;
  std::vector<uint8_t> petition, rejected;
};

/// 7. Visa decisions, caps and lotteries, expiries, renewals, residency, departures
/// (phases/visa.cpp).
struct Visa {
  void run(State& s);
};

/// 8. Firm output Y = A·(Σθ)^α·C^β, credited to researchers, regions and origins
/// (phases/production.cpp).
struct Production {
  void run(State& s);
};

/// 9. Annual raises on tenure anniversaries (phases/pay.cpp).
struct Pay {
  void run(State& s);
};

/// 10. This step's stocks, employment and pay percentiles (phases/record.cpp).
struct Record {
  void run(State& s);
};

}  // namespace ts::model::phase

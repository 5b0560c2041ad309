// What one step records (MODEL.md §5): the counters the phases fill and the event log.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/model/world.hpp"

namespace ts::model {

/// Kinds of entries in the event log.
enum class LogKind : uint8_t {
  Hire = 0,            ///< job from unemployment
  Move = 1,            ///< job-to-job move (poaching)
  CounterRaise = 2,    ///< counteroffer raise (retention)
  VisaApproved = 3,
  VisaDenied = 4,
  VisaLotteryLost = 5,
  VisaExpired = 6,
  VisaRenewed = 7,
  PermanentResidency = 8,
  ForcedDeparture = 9,
  Separation = 10,     ///< job lost (δ, office closure, visa loss)
  Relocation = 11,     ///< moved with the employer (relocation order)
  Exit = 12,           ///< left the field
  Entry = 13,          ///< entered the field
  VisaPetition = 14,   ///< a move waits for a visa decision
  AnnualRaise = 15,    ///< yearly raise at the employment anniversary (pay phase)
};
inline constexpr const char* kLogKindNames[] = {
    "hire", "move", "counter_raise", "visa_approved", "visa_denied", "visa_lottery_lost", "visa_expired",
    "visa_renewed", "permanent_residency", "forced_departure", "separation", "relocation", "exit", "entry",
    "visa_petition", "annual_raise"};

struct LogEntry {
  int32_t step;
  uint64_t uid;
  uint8_t kind;
  int32_t from_firm, to_firm;
  uint8_t from_region, to_region;
  float pay_before, pay_after;
  uint8_t origin, tier;  ///< of the researcher, at the time of the event
};

/// Visa statistics columns (per destination and origin).
enum VisaStat : int {
  kVisaApplications, kVisaApprovals, kVisaDenials, kVisaLotteryLosses, kVisaExpiries, kVisaRenewals,
  kVisaPermanent, kVisaForcedDepartures, kVisaStats
};
inline constexpr const char* kVisaStatNames[] = {"applications", "approvals", "denials", "lottery_losses",
                                                 "expiries", "renewals", "permanent_residency",
                                                 "forced_departures"};
/// Market statistics columns.
enum MarketStat : int {
  kEntrants, kExits, kSeparations, kHires, kJobToJob, kCounterRaises, kRaidHires, kRelocations,
  kOffers, kTargetedOffers, kRejectedByCapacity, kEmployed, kUnemployed, kMarketStats
};
inline constexpr const char* kMarketStatNames[] = {
    "entrants", "exits", "separations", "hires_from_unemployment", "job_to_job_moves", "counteroffer_raises",
    "raid_hires", "relocations", "offers", "targeted_offers", "rejected_by_capacity", "employed", "unemployed"};

inline constexpr int kPercentiles = 5;
inline constexpr double kPercentileLevels[kPercentiles] = {0.10, 0.25, 0.50, 0.75, 0.90};

/// Everything recorded for one step (MODEL.md §5); filled by the phases.
struct StepStats {
  int R = 0, F = 0;
  std::vector<int64_t> stocks;       ///< [region][origin][tier]
  std::vector<int64_t> flows;        ///< [from region][to region] moves this step
  std::vector<double> pay_pct;       ///< [tier][region][percentile] among the employed, USD
  std::vector<int64_t> visa;         ///< [destination][origin][VisaStat]
  std::vector<int64_t> market;       ///< [MarketStat]
  std::vector<double> output_region, output_origin, hc_region, hc_origin;  ///< papers this step
  std::vector<int64_t> entrants_region, exits_region;  ///< by location, for conservation checks
  std::vector<int64_t> unemployed_region;              ///< living without an employer, by location
  std::vector<LogEntry> log;         ///< this step's log entries, in deterministic order

  /// Index of a visa statistic: destination (the region of the visa), origin, statistic.
  std::size_t visa_at(int destination, int origin, VisaStat k) const {
    return (std::size_t(destination) * std::size_t(R) + std::size_t(origin)) * kVisaStats + std::size_t(k);
  }
  void reset(int regions, int firms) {
    R = regions;
    F = firms;
    stocks.assign(std::size_t(R) * R * kTiers, 0);
    flows.assign(std::size_t(R) * R, 0);
    pay_pct.assign(std::size_t(kTiers) * R * kPercentiles, 0.0);
    visa.assign(std::size_t(R) * R * kVisaStats, 0);
    market.assign(kMarketStats, 0);
    output_region.assign(R, 0.0);
    output_origin.assign(R, 0.0);
    hc_region.assign(R, 0.0);
    hc_origin.assign(R, 0.0);
    entrants_region.assign(R, 0);
    exits_region.assign(R, 0);
    unemployed_region.assign(R, 0);
    log.clear();
  }
};

}  // namespace ts::model

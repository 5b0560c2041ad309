// `talentsim validate --json` (sim/model/validation.cpp): the report as JSON for `talentsim
// report`. The whole file is checked by tests/python/test_report.py against the table and the
// closed forms; here the encoding itself: escapes, non-finite numbers, categories.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "sim/model/validation.hpp"

using namespace ts;

TEST_CASE("validation json: strings are escaped, non-finite numbers are null, every check and distribution is there") {
  model::ValidationReport rep;
  rep.kind = "markov";
  rep.researchers = 1000;
  rep.steps = 30;
  rep.seed = 7;
  rep.burn_in = 20;
  rep.window = 10;
  rep.checks.push_back({"share of \"A\"\\B", 0.5, 0.49, 0.02, true, "line 1\nline 2\ttab"});
  rep.checks.push_back({"undefined", std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::infinity(), 0.1, false, ""});
  rep.distributions.push_back({"stock shares", "stock share", "region", "share", {"A", "Région é"},
                               {0, 1}, {0.5, 0.5}, {0.49, 0.51}});
  const std::string j = rep.json({{"scenario", "dir/x.yaml"}, {"overrides", "a=1\nb=2"}});
  CHECK(j.find("\"tool\": \"talentsim validate\"") != std::string::npos);
  CHECK(j.find("\"scenario\": \"dir/x.yaml\"") != std::string::npos);
  CHECK(j.find("\"overrides\": \"a=1\\nb=2\"") != std::string::npos);
  CHECK(j.find("\"quantity\": \"share of \\\"A\\\"\\\\B\"") != std::string::npos);
  CHECK(j.find("\"note\": \"line 1\\nline 2\\ttab\"") != std::string::npos);
  CHECK(j.find("\"theory\": null, \"simulated\": null") != std::string::npos);
  CHECK(j.find("\"pass\": false,") != std::string::npos);  // one check failed, so the report did
  CHECK(j.find("\"seed\": 7,") != std::string::npos);
  CHECK(j.find("\"burn_in\": 20,") != std::string::npos);
  CHECK(j.find("\"categories\": [\"A\", \"Région é\"]") != std::string::npos);
  CHECK(j.find("\"simulated\": [0.48999999999999999, 0.51000000000000001]") != std::string::npos);
  CHECK(j.find('\n') != std::string::npos);
  CHECK(j.back() == '\n');
}

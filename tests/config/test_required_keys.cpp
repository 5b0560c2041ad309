// The keys `talentsim keys` marks **required** (model::required_keys()) are exactly those whose
// absence the loader reports: each is removed from an otherwise valid scenario in turn.
#include <doctest/doctest.h>

#include <map>

#include "tests/support/helpers.hpp"

using namespace ts;

namespace {

/// A valid event of each type, as `key: value` fields (without `type` and `at`).
const std::map<std::string, std::vector<std::pair<std::string, std::string>>> kEvents = {
    {"set", {{"key", "market.lambda0"}, {"value", "\"0.1\""}}},
    {"raid", {{"firm", "A"}, {"offers", "1"}, {"package", "1000"}}},
    {"budget_shock", {{"firm", "A"}}},
    {"compute_shock", {{"firm", "A"}}},
    {"office_open", {{"firm", "A"}, {"region", "CN"}, {"share", "0.1"}}},
    {"office_close", {{"firm", "A"}, {"region", "US"}}},
    {"service_restriction", {{"region", "CN"}}},
    {"export_control", {{"region", "CN"}}},
    {"relocation_order", {{"firm", "A"}, {"region", "US"}, {"to", "{US: 1}"}}},
};

std::string scenario(const std::string& firm, const std::string& event) {
  return "run: {steps: 3}\npopulation: {researchers: 100}\nfirms:\n  - " + firm + "\nevents:\n  - " + event + "\n";
}

std::string event(const std::string& type, const std::string& skip) {
  std::string e = "{";
  if (skip != "type") e += "type: " + type + ", ";
  if (skip != "at") e += "at: 1, ";
  for (const auto& [k, v] : kEvents.at(type))
    if (k != skip) e += k + ": " + v + ", ";
  return e.substr(0, e.size() - 2) + "}";
}

/// The loader's messages for a scenario ("" if it loads).
std::string problems(const std::string& yaml) {
  cfg::Diagnostics d;
  (void)cfg::load_scenario_text(yaml, "req.yaml", {}, d);
  return d.format();
}

}  // namespace

TEST_CASE("keys: every key marked required is reported missing when left out, and only those are marked") {
  const std::string firm = "{name: A, hq: US}";
  for (const auto& [type, fields] : kEvents) {
    INFO("type " << type);
    REQUIRE(problems(scenario(firm, event(type, ""))).empty());
  }
  int checked = 0;
  for (const auto& key : model::required_keys()) {
    INFO("required key " << key);
    std::string yaml, field;
    if (key == "firms[].name" || key == "firms[].hq") {
      field = key.substr(key.find('.') + 1);
      yaml = scenario(field == "name" ? "{hq: US}" : "{name: A}", event("budget_shock", ""));
    } else if (key == "events[].type" || key == "events[].at") {
      field = key.substr(key.find("].") + 2);
      yaml = scenario(firm, event("budget_shock", field));
    } else {
      const auto b = key.find("(type: ") + 7, e = key.find(')');
      const std::string type = key.substr(b, e - b);
      field = key.substr(key.find(").") + 2);
      yaml = scenario(firm, event(type, field));
    }
    const std::string msg = problems(yaml);
    INFO(yaml << msg);
    CHECK((msg.find("missing required key '" + field + "'") != std::string::npos ||
           msg.find("needs '" + field) != std::string::npos));
    ++checked;
  }
  CHECK(checked == 21);
  // A key not marked required may be left out: a valid scenario without each optional event field.
  for (const auto& [type, fields] : kEvents)
    for (const auto& [k, v] : fields) {
      const std::string path = "events[] (type: " + type + ")." + k;
      const auto req = model::required_keys();
      if (std::find(req.begin(), req.end(), path) != req.end()) continue;
      INFO(path);
      CHECK(problems(scenario(firm, event(type, k))).empty());
    }
}

#include "sim/cli/sweep_report.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "sim/config/schema.hpp"

namespace ts::cli {

using namespace ts::exp;

namespace {

std::string fixed(double x, int digits, bool plus) {
  if (std::isnan(x)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, plus ? "%+.*f" : "%.*f", digits, x);
  std::string s = b;
  if (s == "-0" || s.rfind("-0.", 0) == 0) {  // "-0.00" reads as a sign: print it as 0
    bool zero = true;
    for (char c : s) zero = zero && (c == '-' || c == '0' || c == '.');
    if (zero) s = plus ? "+" + s.substr(1) : s.substr(1);
  }
  return s;
}

std::string general(double x, bool plus = false) {
  if (std::isnan(x)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, plus ? "%+.4g" : "%.4g", x);
  return b;
}

std::string num(const Report& c, std::size_t o, double x, bool plus = false) {
  x *= c.scale[o];
  return c.digits[o] >= 0 ? fixed(x, int(c.digits[o]), plus) : general(x, plus);
}

std::string interval(const Report& c, std::size_t o, double mean, double lo, double hi, bool plus, bool bold_if_excludes_zero) {
  std::string s = num(c, o, mean, plus);
  if (!std::isnan(lo)) s += " [" + num(c, o, lo, plus) + ", " + num(c, o, hi, plus) + "]";
  const bool bold = bold_if_excludes_zero && !std::isnan(lo) && (lo > 0 || hi < 0);
  return bold ? "**" + s + "**" : s;
}

std::string md_cell(std::string s) {
  for (std::size_t i = 0; (i = s.find('|', i)) != std::string::npos; i += 2) s.replace(i, 1, "\\|");
  return s;
}

}  // namespace

Report report_of(const ExperimentSpec& s, const Design& d, const RunPlan& plan, const std::vector<std::string>& variants,
                 const Analysis& a) {
  Report r;
  for (const auto& o : s.outcomes) {
    r.labels.push_back(o.label.empty() ? o.name : o.label);
    r.scale.push_back(o.scale);
    r.digits.push_back(o.digits);
  }
  for (const auto& p : s.parameters) r.params.push_back(p.key);
  r.variants = variants;
  r.text = d.text;
  r.P = std::size_t(plan.points()), r.V = std::size_t(plan.variants()), r.K = s.outcomes.size(), r.k = d.k;
  r.a = a;
  return r;
}

/// The report of a complete sweep file; throws if the file has no statistics.
Report report_of(const h5::Group& root) {
  Report r;
  auto o = root.open_group("outcomes");
  r.labels = o.read_strings("labels");
  r.scale = o.read<double>("scale");
  r.digits = o.read<int64_t>("digits");
  auto d = root.open_group("design");
  r.params = d.read_strings("parameters");
  r.text = d.read_strings("text");
  r.variants = root.open_group("variants").read_strings("name");
  r.P = std::size_t(root.attr_int("points")), r.V = r.variants.size(), r.K = r.labels.size(), r.k = r.params.size();
  Analysis& a = r.a;
  a.variants = r.V, a.points = r.P, a.outcomes = r.K, a.params = r.k;
  if (!root.exists("summary")) throw std::runtime_error("the sweep has no statistics yet (status " + root.attr_string("status") + ")");
  auto sum = root.open_group("summary");
  a.n = sum.read<int64_t>("n"), a.mean = sum.read<double>("mean"), a.sd = sum.read<double>("sd");
  a.lo = sum.read<double>("lo"), a.hi = sum.read<double>("hi");
  if (root.exists("differences")) {
    auto g = root.open_group("differences");
    a.d_n = g.read<int64_t>("n"), a.d_mean = g.read<double>("mean"), a.d_sd = g.read<double>("sd");
    a.d_lo = g.read<double>("lo"), a.d_hi = g.read<double>("hi");
  }
  if (root.exists("sensitivity/sobol")) {
    auto g = root.open_group("sensitivity/sobol");
    a.sobol = true;
    a.S1 = g.read<double>("S1"), a.S1_lo = g.read<double>("S1_lo"), a.S1_hi = g.read<double>("S1_hi");
    a.ST = g.read<double>("ST"), a.ST_lo = g.read<double>("ST_lo"), a.ST_hi = g.read<double>("ST_hi");
    a.sobol_n = g.read<int64_t>("n");
  }
  if (root.exists("sensitivity/morris")) {
    auto g = root.open_group("sensitivity/morris");
    a.morris = true;
    a.mu = g.read<double>("mu"), a.mu_star = g.read<double>("mu_star"), a.sigma = g.read<double>("sigma");
    a.mu_star_lo = g.read<double>("mu_star_lo"), a.mu_star_hi = g.read<double>("mu_star_hi");
    a.morris_n = g.read<int64_t>("n");
  }
  return r;
}

void print_report(std::ostream& os, const Report& c) {
  const Analysis& a = c.a;
  const std::size_t K = c.K, P = c.P, V = c.V, k = c.k;
  const auto& variants = c.variants;
  auto cell = [&](std::size_t v, std::size_t p, std::size_t o) { return (v * P + p) * K + o; };
  auto text = [&](std::size_t p, std::size_t j) -> const std::string& { return c.text[p * k + j]; };
  if (V > 1 && P == 1) {
    os << "\n| scenario |";
    for (const auto& l : c.labels) os << " " << md_cell(l) << " |";
    os << "\n|---|";
    for (std::size_t o = 0; o < K; ++o) os << "---:|";
    os << "\n| " << variants[0] << " (level, mean over seeds) |";
    for (std::size_t o = 0; o < K; ++o) {
      const std::size_t i = cell(0, 0, o);
      char sd[64];
      std::snprintf(sd, sizeof sd, " (sd %.3g)", std::fabs(a.sd[i] * c.scale[o]));
      os << " " << num(c, o, a.mean[i]) << (std::isnan(a.sd[i]) ? "" : sd) << " |";
    }
    os << "\n";
    for (std::size_t v = 1; v < V; ++v) {
      os << "| `" << variants[v] << "` (difference) |";
      for (std::size_t o = 0; o < K; ++o) {
        const std::size_t i = ((v - 1) * P) * K + o;
        os << " " << interval(c, o, a.d_mean[i], a.d_lo[i], a.d_hi[i], true, true) << " |";
      }
      os << "\n";
    }
    os << "\nDifferences are scenario − " << variants[0]
       << ", paired by seed; mean [95% t interval]; **bold**: the interval excludes 0.\n";
    return;
  }
  if (P <= 60) {
    for (std::size_t v = 0; v < V; ++v) {
      os << "\n" << (V > 1 ? "`" + variants[v] + "`: " : std::string()) << "mean [95% t interval] over replications\n\n| point |";
      for (const auto& p : c.params) os << " " << md_cell(p) << " |";
      for (const auto& l : c.labels) os << " " << md_cell(l) << " |";
      os << "\n|---:|";
      for (std::size_t j = 0; j < k + K; ++j) os << (j < k ? "---|" : "---:|");
      os << "\n";
      for (std::size_t p = 0; p < P; ++p) {
        os << "| " << p << " |";
        for (std::size_t j = 0; j < k; ++j) os << " " << md_cell(text(p, j)) << " |";
        for (std::size_t o = 0; o < K; ++o) {
          const std::size_t i = cell(v, p, o);
          os << " " << interval(c, o, a.mean[i], a.lo[i], a.hi[i], false, false) << " |";
        }
        os << "\n";
      }
      if (v > 0) {
        os << "\n`" << variants[v] << "` − " << variants[0] << ", paired by seed (**bold**: the interval excludes 0)\n\n| point |";
        for (const auto& l : c.labels) os << " " << md_cell(l) << " |";
        os << "\n|---:|";
        for (std::size_t o = 0; o < K; ++o) os << "---:|";
        os << "\n";
        for (std::size_t p = 0; p < P; ++p) {
          os << "| " << p << " |";
          for (std::size_t o = 0; o < K; ++o) {
            const std::size_t i = ((v - 1) * P + p) * K + o;
            os << " " << interval(c, o, a.d_mean[i], a.d_lo[i], a.d_hi[i], true, true) << " |";
          }
          os << "\n";
        }
      }
    }
  } else {
    os << "\n" << P << " points: the per-point summaries are in the file (/summary; `talentsim export`).\n";
  }
  auto indices = [&](const char* title, const std::vector<std::string>& heads, auto&& row) {
    for (std::size_t v = 0; v < V; ++v)
      for (std::size_t o = 0; o < K; ++o) {
        os << "\n" << title << ": " << md_cell(c.labels[o]) << (V > 1 ? " (`" + variants[v] + "`)" : std::string()) << "\n\n| parameter |";
        for (const auto& h : heads) os << " " << h << " |";
        os << "\n|---|";
        for (std::size_t h = 0; h < heads.size(); ++h) os << "---:|";
        os << "\n";
        for (std::size_t j = 0; j < k; ++j) os << "| " << md_cell(c.params[j]) << " |" << row((v * K + o) * k + j) << "\n";
      }
  };
  if (a.sobol)
    indices("Sobol indices (95% bootstrap intervals)", {"first order S1", "total ST"}, [&](std::size_t i) {
      char b[256];
      std::snprintf(b, sizeof b, " %.3f [%.3f, %.3f] | %.3f [%.3f, %.3f] |", a.S1[i], a.S1_lo[i], a.S1_hi[i], a.ST[i], a.ST_lo[i],
                    a.ST_hi[i]);
      return std::string(b);
    });
  if (a.morris)
    indices("Morris elementary effects (per whole range; 95% bootstrap interval of μ*)", {"μ*", "μ", "σ"}, [&](std::size_t i) {
      return " " + general(a.mu_star[i]) + " [" + general(a.mu_star_lo[i]) + ", " + general(a.mu_star_hi[i]) + "] | " +
             general(a.mu[i]) + " | " + general(a.sigma[i]) + " |";
    });
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string csv_num(double x) { return std::isnan(x) ? std::string() : model::schema::fmt_num(x); }

}  // namespace ts::cli

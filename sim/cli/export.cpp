// `talentsim export OUT.h5 --csv DIR | --table`: a sweep file's tables as CSV, or its report.
#include <boost/program_options.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "sim/cli/cli.hpp"
#include "sim/cli/experiment.hpp"
#include "sim/cli/sweep_report.hpp"
#include "sim/experiment/sweep_file.hpp"
#include "sim/io/h5.hpp"

namespace ts::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace ts::exp;

namespace {

const char* kExportHelp = R"TXT(usage: talentsim export OUT.h5 --csv DIR [--force]
       talentsim export OUT.h5 --table

--csv DIR writes a sweep file's tables as CSV files into DIR (created if missing): design.csv (one
row per point), outcomes.csv (one row per run: the runs table, its point's parameter values and
its outcomes), summaries.csv, differences.csv (with variants) and indices.csv (with a saltelli or
morris design). Existing files are not replaced without --force.
--table prints the report `talentsim sweep` printed at the end (Markdown tables) again.
)TXT";

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& od,
                        const po::positional_options_description& pos) {
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(od).positional(pos).run(), vm);
  po::notify(vm);
  return vm;
}

}  // namespace

int export_main(const std::vector<std::string>& args) {
  std::string in, dir;
  bool force = false, table = false;
  po::options_description od("export options");
  od.add_options()("input", po::value(&in), "sweep file")("csv", po::value(&dir), "directory")(
      "table", po::bool_switch(&table), "print the report")("force", po::bool_switch(&force), "replace")("help,h", "help");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  try {
    vm = parse(args, od, pos);
  } catch (const po::error& e) {
    std::cerr << "talentsim export: " << e.what() << "\n\n" << kExportHelp;
    return kInputError;
  }
  if (vm.count("help")) {
    std::cout << kExportHelp;
    return kOk;
  }
  if (in.empty() || (dir.empty() == !table)) {
    std::cerr << "talentsim export: needs a sweep file and either --csv DIR or --table\n\n" << kExportHelp;
    return kInputError;
  }
  try {
    h5::File f;
    try {
      f = h5::File::open_read(in);
    } catch (const h5::Error&) {
      std::cerr << "talentsim export: cannot open '" << in << "' as an HDF5 file\n";
      return kInputError;
    }
    auto root = f.root();
    if (!root.has_attr("kind") || root.attr_string("kind") != "sweep") {
      std::cerr << "talentsim export: '" << in << "' is not a sweep file (talentsim sweep / compare write those)\n";
      return kInputError;
    }
    const std::string status = root.attr_string("status");
    if (table) {
      if (root.has_attr("shards")) {
        std::cerr << "talentsim export: " << in << " is shard " << root.attr_int("shard") << " of " << root.attr_int("shards")
                  << " of a sweep: the statistics come with `talentsim merge OUT.h5 SHARD...`\n";
        return kInputError;
      }
      if (status != "complete") {
        std::cerr << "talentsim export: " << in << " is " << status << ": its statistics are written when the sweep completes\n";
        return kInputError;
      }
      print_report(std::cout, report_of(root));
      return kOk;
    }
    const auto params = root.open_group("design").read_strings("parameters");
    std::vector<hsize_t> ddims;
    const auto values = root.open_group("design").read<double>("values", &ddims);
    const auto text = root.open_group("design").read_strings("text");
    const auto numeric = root.open_group("design").read<uint8_t>("numeric");
    const std::size_t P = std::size_t(root.attr_int("points")), k = params.size();
    const auto variants = root.open_group("variants").read_strings("name");
    const SweepRuns runs = read_runs(in);
    const std::size_t K = runs.outcome_names.size(), N = runs.id.size();
    std::vector<std::string> written;
    std::vector<std::pair<std::string, std::string>> files;
    auto param_value = [&](std::size_t p, std::size_t j) {
      return numeric[j] ? csv_num(values[p * k + j]) : csv_field(text[p * k + j]);
    };
    {
      std::ostringstream os;
      os << "point";
      for (const auto& p : params) os << "," << csv_field(p);
      os << "\n";
      for (std::size_t p = 0; p < P; ++p) {
        os << p;
        for (std::size_t j = 0; j < k; ++j) os << "," << param_value(p, j);
        os << "\n";
      }
      files.emplace_back("design.csv", os.str());
    }
    {
      std::ostringstream os;
      os << "run,point,replication,variant,seed,status,seconds,host,error";
      for (const auto& p : params) os << "," << csv_field(p);
      for (const auto& n : runs.outcome_names) os << "," << csv_field(n);
      os << "\n";
      const char* st[] = {"pending", "done", "failed"};
      for (std::size_t i = 0; i < N; ++i) {
        const auto p = std::size_t(runs.point[i]);
        os << runs.id[i] << "," << runs.point[i] << "," << runs.replication[i] << ","
           << csv_field(variants[std::size_t(runs.variant[i])]) << "," << runs.seed[i] << "," << st[std::min<int>(runs.status[i], 2)]
           << "," << csv_num(runs.seconds[i]) << "," << csv_field(runs.host[i]) << "," << csv_field(runs.error[i]);
        for (std::size_t j = 0; j < k; ++j) os << "," << param_value(p, j);
        for (std::size_t o = 0; o < K; ++o) os << "," << csv_num(runs.values[i * K + o]);
        os << "\n";
      }
      files.emplace_back("outcomes.csv", os.str());
    }
    auto table = [&](const char* group, const std::vector<std::string>& var_names, const char* file) {
      if (!root.exists(group)) return;
      auto g = root.open_group(group);
      const auto n = g.read<int64_t>("n");
      const auto mean = g.read<double>("mean"), sd = g.read<double>("sd"), lo = g.read<double>("lo"), hi = g.read<double>("hi");
      std::ostringstream os;
      os << "variant,point";
      for (const auto& p : params) os << "," << csv_field(p);
      os << ",outcome,n,mean,sd,lo,hi\n";
      for (std::size_t v = 0; v < var_names.size(); ++v)
        for (std::size_t p = 0; p < P; ++p)
          for (std::size_t o = 0; o < K; ++o) {
            const std::size_t c = (v * P + p) * K + o;
            os << csv_field(var_names[v]) << "," << p;
            for (std::size_t j = 0; j < k; ++j) os << "," << param_value(p, j);
            os << "," << csv_field(runs.outcome_names[o]) << "," << n[c] << "," << csv_num(mean[c]) << "," << csv_num(sd[c])
               << "," << csv_num(lo[c]) << "," << csv_num(hi[c]) << "\n";
          }
      files.emplace_back(file, os.str());
    };
    table("summary", variants, "summaries.csv");
    if (variants.size() > 1) table("differences", std::vector<std::string>(variants.begin() + 1, variants.end()), "differences.csv");
    if (root.exists("sensitivity")) {
      std::ostringstream os;
      os << "method,variant,outcome,parameter,index,value,lo,hi,n\n";
      auto emit = [&](const char* method, const char* index, const std::vector<double>& v, const std::vector<double>* lo,
                      const std::vector<double>* hi, const std::vector<int64_t>& n) {
        for (std::size_t a = 0; a < variants.size(); ++a)
          for (std::size_t o = 0; o < K; ++o)
            for (std::size_t j = 0; j < k; ++j) {
              const std::size_t c = (a * K + o) * k + j;
              os << method << "," << csv_field(variants[a]) << "," << csv_field(runs.outcome_names[o]) << "," << csv_field(params[j])
                 << "," << index << "," << csv_num(v[c]) << "," << (lo ? csv_num((*lo)[c]) : "") << ","
                 << (hi ? csv_num((*hi)[c]) : "") << "," << n[a * K + o] << "\n";
            }
      };
      if (root.exists("sensitivity/sobol")) {
        auto g = root.open_group("sensitivity/sobol");
        const auto n = g.read<int64_t>("n");
        const auto S1 = g.read<double>("S1"), S1l = g.read<double>("S1_lo"), S1h = g.read<double>("S1_hi");
        const auto ST = g.read<double>("ST"), STl = g.read<double>("ST_lo"), STh = g.read<double>("ST_hi");
        emit("sobol", "S1", S1, &S1l, &S1h, n);
        emit("sobol", "ST", ST, &STl, &STh, n);
      }
      if (root.exists("sensitivity/morris")) {
        auto g = root.open_group("sensitivity/morris");
        const auto n = g.read<int64_t>("n");
        const auto ms = g.read<double>("mu_star"), msl = g.read<double>("mu_star_lo"), msh = g.read<double>("mu_star_hi");
        const auto mu = g.read<double>("mu"), sg = g.read<double>("sigma");
        emit("morris", "mu_star", ms, &msl, &msh, n);
        emit("morris", "mu", mu, nullptr, nullptr, n);
        emit("morris", "sigma", sg, nullptr, nullptr, n);
      }
      files.emplace_back("indices.csv", os.str());
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir)) {
      std::cerr << "talentsim export: cannot create the directory '" << dir << "'\n";
      return kRuntimeError;
    }
    if (!force)
      for (const auto& [name, body] : files)
        if (fs::exists(fs::path(dir) / name)) {
          std::cerr << "talentsim export: " << (fs::path(dir) / name).string() << " already exists (use --force to replace it)\n";
          return kInputError;
        }
    for (const auto& [name, body] : files) {
      const fs::path target = fs::path(dir) / name, tmp = fs::path(dir) / ("." + name + ".partial");
      {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << body;
        out.close();
        if (!out) {
          fs::remove(tmp, ec);
          std::cerr << "talentsim export: cannot write " << target.string() << "\n";
          return kRuntimeError;
        }
      }
      fs::rename(tmp, target, ec);
      if (ec) {
        fs::remove(tmp, ec);
        std::cerr << "talentsim export: cannot write " << target.string() << "\n";
        return kRuntimeError;
      }
      written.push_back(target.string());
    }
    std::cout << "wrote";
    for (const auto& w : written) std::cout << " " << w;
    std::cout << (status == "complete" ? "" : " (the sweep is " + status + ": its statistics are missing)") << "\n";
  } catch (const std::exception& e) {
    std::cerr << "talentsim export: " << in << ": " << e.what() << "\n";
    return kRuntimeError;
  }
  return kOk;
}

}  // namespace ts::cli

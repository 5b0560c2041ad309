#include "sim/experiment/journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace ts::exp {

namespace {

constexpr const char* kMagic = "talentsim-sweep-journal";

std::string hex_text(const std::string& s) {
  if (s.empty()) return "-";
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * s.size());
  for (unsigned char c : s) out += digits[c >> 4], out += digits[c & 15];
  return out;
}

bool unhex_text(const std::string& h, std::string& out) {
  out.clear();
  if (h == "-") return true;
  if (h.size() % 2) return false;
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < h.size(); i += 2) {
    const int a = val(h[i]), b = val(h[i + 1]);
    if (a < 0 || b < 0) return false;
    out += char(a * 16 + b);
  }
  return true;
}

std::string hexfloat(double x) {
  if (std::isnan(x)) return "nan";
  char b[64];
  std::snprintf(b, sizeof b, "%a", x);
  return b;
}

bool parse_double(const std::string& s, double& x) {
  if (s == "nan") {
    x = std::nan("");
    return true;
  }
  char* end = nullptr;
  errno = 0;
  x = std::strtod(s.c_str(), &end);
  return end && *end == '\0' && !s.empty();
}

std::string checksum_hex(const std::string& body) {
  char b[32];
  std::snprintf(b, sizeof b, "%016llx", (unsigned long long)fnv1a(body));
  return b;
}

void write_all(int fd, const std::string& s, const std::string& path) {
  const char* p = s.data();
  std::size_t left = s.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot write the sweep journal " + path + ": " + std::strerror(errno));
    }
    p += n;
    left -= std::size_t(n);
  }
}

}  // namespace

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {
void lock(int fd, const std::string& path) {
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    throw std::runtime_error("another talentsim process is working on this sweep (its journal " + path + " is locked)");
}
}  // namespace

Journal Journal::create(const std::string& path, const std::string& fingerprint, int64_t runs, int64_t outcomes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create the sweep journal " + path + ": " + std::strerror(errno));
  Journal j(fd, path);
  lock(fd, path);
  write_all(fd, std::string(kMagic) + " 1 " + fingerprint + " " + std::to_string(runs) + " " + std::to_string(outcomes) + "\n",
            path);
  return j;
}

Journal Journal::reopen(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open the sweep journal " + path + ": " + std::strerror(errno));
  Journal j(fd, path);
  lock(fd, path);
  return j;
}

void Journal::truncate(uint64_t good_bytes) {
  if (::ftruncate(fd_, off_t(good_bytes)) != 0)
    throw std::runtime_error("cannot cut the damaged end off the sweep journal " + path_ + ": " + std::strerror(errno));
}

void Journal::append(const RunResult& r) {
  std::string body = "run " + std::to_string(r.id) + " " + kRunStatusNames[int(r.status)] + " " + hexfloat(r.seconds) + " " +
                     hex_text(r.host) + " " + hex_text(r.error);
  for (double v : r.outcomes) body += " " + hexfloat(v);
  write_all(fd_, body + " " + checksum_hex(body) + "\n", path_);
}

Journal::Contents Journal::read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read the sweep journal " + path);
  Contents c;
  std::string line;
  uint64_t offset = 0;
  if (!std::getline(f, line) || f.eof()) throw std::runtime_error("the sweep journal " + path + " has no header");
  {
    std::istringstream ss(line);
    std::string magic, version;
    ss >> magic >> version >> c.fingerprint >> c.runs >> c.outcomes;
    if (magic != kMagic || version != "1" || !ss || c.runs < 1 || c.outcomes < 0)
      throw std::runtime_error(path + " is not a talentsim sweep journal");
  }
  offset = line.size() + 1;
  c.good_bytes = offset;
  std::map<int64_t, RunResult> by_id;
  while (std::getline(f, line)) {
    const bool complete = !f.eof();  // a last line without its newline was cut short
    offset += line.size() + (complete ? 1 : 0);
    const auto sp = line.rfind(' ');
    bool ok = complete && sp != std::string::npos && line.substr(sp + 1) == checksum_hex(line.substr(0, sp));
    RunResult r;
    if (ok) {
      std::istringstream ss(line.substr(0, sp));
      std::string tag, status, secs, host, err;
      ss >> tag >> r.id >> status >> secs >> host >> err;
      ok = ss && tag == "run" && r.id >= 0 && r.id < c.runs && parse_double(secs, r.seconds) && unhex_text(host, r.host) &&
           unhex_text(err, r.error);
      if (status == "done")
        r.status = RunStatus::Done;
      else if (status == "failed")
        r.status = RunStatus::Failed;
      else
        ok = false;
      for (std::string v; ok && ss >> v;) {
        double x = 0;
        ok = parse_double(v, x);
        r.outcomes.push_back(x);
      }
      ok = ok && int64_t(r.outcomes.size()) == c.outcomes;
    }
    if (!ok) {
      ++c.dropped;
      continue;
    }
    c.good_bytes = offset;
    by_id[r.id] = std::move(r);
  }
  for (auto& [id, r] : by_id) c.records.push_back(std::move(r));
  return c;
}

}  // namespace ts::exp

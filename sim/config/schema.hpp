// Visitors over the parameter description (see params.cpp). A struct is described
// once by `describe(V&, T&)`; three visitors give the loader, the dumper and the
// reference documentation. Adding a field means adding one line to describe().
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "sim/config/diagnostics.hpp"
#include "sim/config/yaml_tree.hpp"
#include "sim/config/params.hpp"

namespace ts::model::schema {

template <class E>
struct EnumName {
  E value;
  const char* name;
};

std::string fmt_num(double x);
std::string quote(const std::string& s);

/// Strict number parsing: the whole scalar must be a finite number.
bool parse_double(const std::string& s, double& out);
bool parse_int(const std::string& s, int64_t& out);
bool parse_bool(const std::string& s, bool& out);

// ------------------------------------------------------------------------- Loader
class Loader {
 public:
  Loader(const cfg::Node* node, std::string path, cfg::Diagnostics& d) : node_(node), path_(std::move(path)), d_(d) {
    if (node_) where_ = node_->loc;
    if (node_ && node_->kind == cfg::Node::Kind::Null) {
      node_ = nullptr;
      null_ = true;
    }
    if (node_ && node_->kind != cfg::Node::Kind::Map) {
      d_.error(node_->loc, path_.empty() ? "(top level)" : path_,
               "expected a mapping of keys to values, got " + cfg::describe(*node_));
      node_ = nullptr;
      bad_ = true;
    }
  }
  Loader(const Loader&) = delete;
  ~Loader() = default;

  static constexpr bool loading = true;
  const cfg::Location& loc() const { return node_ ? node_->loc : where_; }
  const std::string& path() const { return path_; }
  bool has(const char* key) const { return node_ && node_->find(key); }
  /// The value of `key` as written (nullptr if absent), without consuming it.
  const cfg::Node* peek(const char* key) const { return node_ ? node_->find(key) : nullptr; }
  /// The value of `key` as written, marked as read (nullptr if absent or written empty): for
  /// values the caller checks itself (maps keyed by user names, "a name or a list of names").
  const cfg::Node* raw(const char* key) { return take(key); }
  /// Written as null / empty (`- ` or `key:`), or not a mapping (already reported).
  bool is_null() const { return null_; }
  bool is_bad() const { return bad_; }
  /// Marks every key as read: finish() then reports none of them (after an error that makes them meaningless).
  void ignore_rest() {
    if (node_)
      for (const auto& e : node_->map) used_.insert(e.first);
  }

  template <class T>
  void num(const char* key, T& x, double lo, double hi, const char* /*doc*/) {
    const cfg::Node* n = take(key);
    if (!n) return;
    if constexpr (std::is_integral_v<T>) {
      int64_t v = 0;
      if (!scalar(n, key) || !parse_int(n->scalar, v) || double(v) < lo || double(v) > hi) {
        expect(n, key, "a whole number" + range(lo, hi));
        return;
      }
      x = static_cast<T>(v);
    } else {
      double v = 0;
      if (!scalar(n, key) || !parse_double(n->scalar, v) || v < lo || v > hi) {
        expect(n, key, "a number" + range(lo, hi));
        return;
      }
      x = static_cast<T>(v);
    }
  }
  void flag(const char* key, bool& x, const char*) {
    const cfg::Node* n = take(key);
    if (!n) return;
    if (!scalar(n, key) || !parse_bool(n->scalar, x)) expect(n, key, "true or false");
  }
  void text(const char* key, std::string& x, const char*) {
    const cfg::Node* n = take(key);
    if (!n) return;
    if (!scalar(n, key) || n->scalar.empty()) {
      expect(n, key, "a non-empty text");
      return;
    }
    x = n->scalar;
  }
  /// Like text(), but also records where it was written.
  void text(const char* key, std::string& x, Location& where, const char* doc) {
    if (const cfg::Node* n = node_ ? node_->find(key) : nullptr) where = n->loc;
    text(key, x, doc);
  }
  template <class E, std::size_t N>
  void choice(const char* key, E& x, const EnumName<E> (&names)[N], const char*) {
    const cfg::Node* n = take(key);
    if (!n) return;
    std::string all;
    for (const auto& e : names) {
      if (scalar_quiet(n) && n->scalar == e.name) {
        x = e.value;
        return;
      }
      all += (all.empty() ? "" : ", ") + std::string(e.name);
    }
    expect(n, key, "one of " + all);
  }
  void when(const char* key, When& w, const char*) {
    const cfg::Node* n = take(key);
    if (!n) {
      if (node_) d_.error(node_->loc, path_, std::string("missing required key '") + key + "' (a month YYYY-MM or a step number)");
      return;
    }
    w.loc = n->loc;
    int64_t s = 0;
    if (scalar_quiet(n) && parse_int(n->scalar, s) && s >= 0 && s < (int64_t(1) << 30)) {
      w.step = int(s);
      return;
    }
    const int m = scalar_quiet(n) ? parse_month(n->scalar) : -1;
    if (m < 0) {
      expect(n, key, "a month YYYY-MM or a step number >= 0");
      return;
    }
    w.month_index = m;
  }
  void dist(const char* key, Dist& x, double lo, double hi, const char* doc);
  void shares(const char* key, std::vector<Share>& xs, double lo, double hi, const char*) {
    const cfg::Node* n = take(key);
    if (!n) return;
    if (n->kind != cfg::Node::Kind::Map) {
      expect(n, key, "a mapping of names to numbers");
      return;
    }
    xs.clear();
    for (const auto& [k, v] : n->map) {
      Share s{k, 0.0, v.key_loc};
      double val = 0;
      if (v.kind != cfg::Node::Kind::Scalar || !parse_double(v.scalar, val) || val < lo || val > hi) {
        expect(&v, (std::string(key) + "." + k).c_str(), "a number" + range(lo, hi));
        continue;
      }
      s.value = val;
      xs.push_back(std::move(s));
    }
  }
  void names(const char* key, std::vector<std::string>& xs, const char*) {
    const cfg::Node* n = take(key);
    if (!n) return;
    if (n->kind != cfg::Node::Kind::Seq) {
      expect(n, key, "a list of names");
      return;
    }
    xs.clear();
    for (std::size_t i = 0; i < n->seq.size(); ++i) {
      const auto& e = n->seq[i];
      if (e.kind != cfg::Node::Kind::Scalar || e.scalar.empty()) {
        d_.error(e.loc, cfg::index_path(cfg::join_path(path_, key), i), "expected a name");
        continue;
      }
      xs.push_back(e.scalar);
    }
  }
  /// Like names(), remembering where the list was written.
  void names(const char* key, std::vector<std::string>& xs, Location& where, const char* doc) {
    if (const cfg::Node* n = node_ ? node_->find(key) : nullptr) where = n->loc;
    names(key, xs, doc);
  }
  void steps(const char* key, std::vector<int64_t>& xs, const char*) {
    const cfg::Node* n = take(key);
    if (!n) return;
    if (n->kind != cfg::Node::Kind::Seq) {
      expect(n, key, "a list of step numbers");
      return;
    }
    xs.clear();
    for (std::size_t i = 0; i < n->seq.size(); ++i) {
      int64_t v = 0;
      const auto& e = n->seq[i];
      if (e.kind != cfg::Node::Kind::Scalar || !parse_int(e.scalar, v) || v < 0) {
        d_.error(e.loc, cfg::index_path(cfg::join_path(path_, key), i), "expected a step number >= 0");
        continue;
      }
      xs.push_back(v);
    }
  }
  template <class T>
  void obj(const char* key, T& x, const char*) {
    const cfg::Node* n = take(key);
    if (!n) return;
    Loader sub(n, cfg::join_path(path_, key), d_);
    describe(sub, x);
    sub.finish();
  }
  template <class T>
  void list(const char* key, std::vector<T>& xs, const char*) {
    const cfg::Node* n = take(key);
    if (!n) return;
    if (n->kind != cfg::Node::Kind::Seq) {
      expect(n, key, "a list");
      return;
    }
    xs.clear();
    for (std::size_t i = 0; i < n->seq.size(); ++i) {
      T item{};
      Loader sub(&n->seq[i], cfg::index_path(cfg::join_path(path_, key), i), d_);
      set_loc(item, n->seq[i].loc);
      describe(sub, item);
      sub.finish();
      xs.push_back(std::move(item));
    }
  }
  /// A mapping name -> struct, stored as a list with the name in the struct's `name`.
  template <class T>
  void named_map(const char* key, std::vector<T>& xs, const char*) {
    const cfg::Node* n = take(key);
    if (!n) return;
    if (n->kind != cfg::Node::Kind::Map) {
      expect(n, key, "a mapping of names to settings");
      return;
    }
    for (const auto& [k, v] : n->map) {
      T* item = nullptr;
      for (auto& x : xs)
        if (x.name == k) item = &x;
      if (!item) {
        xs.push_back(T{});
        item = &xs.back();
        item->name = k;
      }
      set_loc(*item, v.key_loc);
      Loader sub(&v, cfg::join_path(cfg::join_path(path_, key), k), d_);
      describe(sub, *item);
      sub.finish();
    }
  }
  /// Rejects keys not consumed by describe().
  void finish() {
    if (!node_) return;
    std::vector<std::string> known(used_.begin(), used_.end());
    for (const auto& [k, v] : node_->map) {
      if (used_.count(k)) continue;
      std::string msg = "unknown key " + cfg::quoted(k);
      const std::string hint = cfg::did_you_mean(k, known_);
      if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
      d_.error(v.key_loc, cfg::join_path(path_, k), msg);
    }
  }
  void error(const std::string& msg) { d_.error(loc(), path_, msg); }
  void error_at(const char* key, const std::string& msg) {
    const cfg::Node* n = node_ ? node_->find(key) : nullptr;
    d_.error(n ? n->loc : loc(), cfg::join_path(path_, key), msg);
  }

 private:
  template <class T>
  static void set_loc(T& x, const Location& l) {
    if constexpr (requires { x.loc; }) x.loc = l;
  }
  const cfg::Node* take(const char* key) {
    known_.emplace_back(key);
    used_.insert(key);
    if (!node_) return nullptr;
    const cfg::Node* n = node_->find(key);
    if (n && n->kind == cfg::Node::Kind::Null) return nullptr;  // `key:` with no value = default
    return n;
  }
  bool scalar_quiet(const cfg::Node* n) const { return n->kind == cfg::Node::Kind::Scalar; }
  bool scalar(const cfg::Node* n, const char*) const { return scalar_quiet(n); }
  void expect(const cfg::Node* n, const char* key, const std::string& what) {
    std::string got;
    switch (n->kind) {
      case cfg::Node::Kind::Scalar: got = cfg::quoted(n->scalar); break;
      case cfg::Node::Kind::Map: got = "a mapping"; break;
      case cfg::Node::Kind::Seq: got = "a list"; break;
      default: got = "nothing"; break;
    }
    d_.error(n->loc, cfg::join_path(path_, key), "expected " + what + ", got " + got);
  }
  static std::string range(double lo, double hi) {
    const double inf = std::numeric_limits<double>::max();
    if (lo <= -inf && hi >= inf) return "";
    if (hi >= inf) return " >= " + fmt_num(lo);
    if (lo <= -inf) return " <= " + fmt_num(hi);
    return " in [" + fmt_num(lo) + ", " + fmt_num(hi) + "]";
  }

  const cfg::Node* node_;
  std::string path_;
  cfg::Diagnostics& d_;
  std::set<std::string> used_;
  std::vector<std::string> known_;
  cfg::Location where_{};
  bool null_ = false, bad_ = false;
};

// ------------------------------------------------------------------------- Dumper
class Dumper {
 public:
  static constexpr bool loading = false;
  cfg::Node out;
  Dumper() { out.kind = cfg::Node::Kind::Map; }
  bool has(const char*) const { return true; }
  void error(const std::string&) {}
  void error_at(const char*, const std::string&) {}
  const cfg::Location& loc() const { return none_; }

  template <class T>
  void num(const char* key, const T& x, double, double, const char*) {
    if constexpr (std::is_integral_v<T>)
      put(key, std::to_string(x));
    else
      put(key, fmt_num(double(x)));
  }
  void flag(const char* key, const bool& x, const char*) { put(key, x ? "true" : "false"); }
  void text(const char* key, const std::string& x, const char*) {
    if (!x.empty()) put(key, x, true);
  }
  void text(const char* key, const std::string& x, const Location&, const char* doc) { text(key, x, doc); }
  template <class E, std::size_t N>
  void choice(const char* key, const E& x, const EnumName<E> (&names)[N], const char*) {
    for (const auto& e : names)
      if (e.value == x) put(key, e.name);
  }
  void when(const char* key, const When& w, const char*) { put(key, std::to_string(w.step)); }
  void dist(const char* key, const Dist& x, double, double, const char*);
  void shares(const char* key, const std::vector<Share>& xs, double, double, const char*) {
    cfg::Node m;
    m.kind = cfg::Node::Kind::Map;
    for (const auto& s : xs) m.map.emplace_back(s.name, scalar(fmt_num(s.value)));
    out.map.emplace_back(key, std::move(m));
  }
  void names(const char* key, const std::vector<std::string>& xs, const char*) {
    cfg::Node m;
    m.kind = cfg::Node::Kind::Seq;
    for (const auto& s : xs) m.seq.push_back(scalar(s, true));
    out.map.emplace_back(key, std::move(m));
  }
  void names(const char* key, const std::vector<std::string>& xs, const Location&, const char* doc) { names(key, xs, doc); }
  void steps(const char* key, const std::vector<int64_t>& xs, const char*) {
    cfg::Node m;
    m.kind = cfg::Node::Kind::Seq;
    for (auto s : xs) m.seq.push_back(scalar(std::to_string(s)));
    out.map.emplace_back(key, std::move(m));
  }
  template <class T>
  void obj(const char* key, const T& x, const char*) {
    Dumper sub;
    describe(sub, const_cast<T&>(x));
    out.map.emplace_back(key, std::move(sub.out));
  }
  template <class T>
  void list(const char* key, const std::vector<T>& xs, const char*) {
    cfg::Node m;
    m.kind = cfg::Node::Kind::Seq;
    for (const auto& x : xs) {
      Dumper sub;
      describe(sub, const_cast<T&>(x));
      m.seq.push_back(std::move(sub.out));
    }
    out.map.emplace_back(key, std::move(m));
  }
  template <class T>
  void named_map(const char* key, const std::vector<T>& xs, const char*) {
    cfg::Node m;
    m.kind = cfg::Node::Kind::Map;
    for (const auto& x : xs) {
      Dumper sub;
      describe(sub, const_cast<T&>(x));
      m.map.emplace_back(x.name, std::move(sub.out));
    }
    out.map.emplace_back(key, std::move(m));
  }
  static cfg::Node scalar(const std::string& s, bool quoted = false) {
    cfg::Node n;
    n.kind = cfg::Node::Kind::Scalar;
    n.scalar = s;
    n.quoted = quoted;
    return n;
  }

 private:
  void put(const char* key, const std::string& v, bool quoted = false) { out.map.emplace_back(key, scalar(v, quoted)); }
  static inline const cfg::Location none_{};
};

// ------------------------------------------------------------------------- Documenter
/// Collects one row per key: path, type, default, allowed, meaning.
class Documenter {
 public:
  static constexpr bool loading = false;
  struct Row {
    std::string path, type, def, allowed, doc;
  };
  std::vector<Row>* rows;
  std::string prefix;
  bool has(const char*) const { return true; }
  void error(const std::string&) {}
  void error_at(const char*, const std::string&) {}
  const cfg::Location& loc() const { return none_; }

  template <class T>
  void num(const char* key, const T& x, double lo, double hi, const char* doc) {
    const double inf = std::numeric_limits<double>::max();
    std::string allowed = (lo <= -inf ? std::string("…") : fmt_num(lo)) + " – " + (hi >= inf ? std::string("…") : fmt_num(hi));
    add(key, std::is_integral_v<T> ? "integer" : "number",
        std::is_integral_v<T> ? std::to_string(x) : fmt_num(double(x)), allowed, doc);
  }
  void flag(const char* key, const bool& x, const char* doc) { add(key, "bool", x ? "true" : "false", "", doc); }
  void text(const char* key, const std::string& x, const char* doc) { add(key, "text", x, "", doc); }
  void text(const char* key, const std::string& x, const Location&, const char* doc) { text(key, x, doc); }
  template <class E, std::size_t N>
  void choice(const char* key, const E& x, const EnumName<E> (&names)[N], const char* doc) {
    std::string all, def;
    for (const auto& e : names) {
      all += (all.empty() ? "" : ", ") + std::string(e.name);
      if (e.value == x) def = e.name;
    }
    add(key, "choice", def, all, doc);
  }
  void when(const char* key, const When&, const char* doc) { add(key, "month|step", "", "YYYY-MM or step", doc); }
  void dist(const char* key, const Dist& x, double lo, double hi, const char* doc) {
    const std::string full = std::string(doc) + " (a number, or {dist: uniform|normal|lognormal|bm_equilibrium, …})";
    add(key, "number|dist", x.kind == Dist::Kind::Constant ? fmt_num(x.a) : "dist", fmt_num(lo) + " – " + fmt_num(hi),
        full.c_str());
  }
  void shares(const char* key, const std::vector<Share>&, double, double, const char* doc) {
    add(key, "map name→number", "", "", doc);
  }
  void names(const char* key, const std::vector<std::string>&, const char* doc) { add(key, "list of names", "[]", "", doc); }
  void names(const char* key, const std::vector<std::string>& xs, const Location&, const char* doc) { names(key, xs, doc); }
  void steps(const char* key, const std::vector<int64_t>&, const char* doc) { add(key, "list of steps", "[]", "", doc); }
  template <class T>
  void obj(const char* key, const T& x, const char*) {
    Documenter sub{rows, cfg::join_path(prefix, key)};
    describe(sub, const_cast<T&>(x));
  }
  template <class T>
  void list(const char* key, const std::vector<T>&, const char*) {
    T x{};
    Documenter sub{rows, cfg::join_path(prefix, key) + "[]"};
    describe(sub, x);
  }
  template <class T>
  void named_map(const char* key, const std::vector<T>&, const char*) {
    T x{};
    Documenter sub{rows, cfg::join_path(prefix, key) + ".NAME"};
    describe(sub, x);
  }

 private:
  void add(const char* key, std::string type, std::string def, std::string allowed, const char* doc) {
    rows->push_back({cfg::join_path(prefix, key), std::move(type), std::move(def), std::move(allowed), doc});
  }
  static inline const cfg::Location none_{};
};

}  // namespace ts::model::schema

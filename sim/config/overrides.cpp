// Key paths into a config tree and `--set key.path=value` overrides.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sim/config/yaml_tree.hpp"

namespace ts::cfg {

// ---------------------------------------------------------------------------
// Paths and overrides

namespace {

struct Segment {
  std::string text;
  bool bracket = false;  // written as [..]
};

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t") - b + 1));
}

// "firms[3].budget" / "firms.3.budget" -> {firms, [3], budget}.
std::optional<std::vector<Segment>> split_path(std::string_view path, std::string& err) {
  std::vector<Segment> segs;
  const std::string p = trim(path);
  if (p.empty()) {
    err = "empty path";
    return std::nullopt;
  }
  std::size_t i = 0;
  bool need_name = true;  // at the start or after '.'
  while (i <= p.size()) {
    if (i == p.size() || p[i] == '.') {
      if (need_name) {
        err = "empty path segment in " + cfg::quoted(p);
        return std::nullopt;
      }
      need_name = true;
      ++i;
      continue;
    }
    if (p[i] == '[') {
      const auto close = p.find(']', i);
      if (close == std::string::npos || close == i + 1) {
        err = close == std::string::npos ? "unclosed '[' in " + cfg::quoted(p) : "empty path segment '[]' in " + cfg::quoted(p);
        return std::nullopt;
      }
      segs.push_back({p.substr(i + 1, close - i - 1), true});
      i = close + 1;
      need_name = false;
      if (i < p.size() && p[i] != '.' && p[i] != '[') {
        err = "expected '.' or '[' after ']' in " + cfg::quoted(p);
        return std::nullopt;
      }
      continue;
    }
    const auto end = p.find_first_of(".[", i);
    segs.push_back({p.substr(i, end == std::string::npos ? std::string::npos : end - i), false});
    i = end == std::string::npos ? p.size() : end;
    need_name = false;
  }
  return segs;
}

bool is_index(const std::string& s) {
  return !s.empty() && s.size() <= 9 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// One step of a path walk. Returns the child; or nullptr with `missing` set (map
// key absent, or a Null node: may be created); or nullptr with `err` set.
struct Step {
  const Node* child = nullptr;
  std::string path;  // canonical path of the child ("firms[1]")
  bool missing = false;
  std::string err;
};

Step step(const Node& n, const Segment& s, const std::string& parent) {
  Step r;
  const std::string shown = parent.empty() ? std::string("the root") : cfg::quoted(parent);
  if (n.is_map() || n.is_null()) {
    r.path = join_path(parent, s.text);
    if (s.bracket) r.err = shown + " is " + (n.is_map() ? "a mapping" : "null") + ", not a sequence; cannot use [" + shortened(s.text) + "]";
    else if (!(r.child = n.find(s.text))) r.missing = true;
    return r;
  }
  if (n.is_scalar()) {
    r.path = join_path(parent, s.text);
    r.err = "cannot descend into " + shown + ": it is a scalar (" + describe(n) + "), not a mapping";
    return r;
  }
  if (is_index(s.text)) {
    const std::size_t i = std::stoul(s.text);
    r.path = index_path(parent, i);
    if (i < n.seq.size()) r.child = &n.seq[i];
    else r.err = "index " + s.text + " is out of range: " + shown + " has " + std::to_string(n.seq.size()) + " elements";
    return r;
  }
  std::vector<std::size_t> hits;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < n.seq.size(); ++i)
    if (const Node* nm = n.seq[i].find("name"); nm && nm->is_scalar()) {
      names.push_back(nm->scalar);
      if (nm->scalar == s.text) hits.push_back(i);
    }
  if (hits.size() == 1) {
    r.path = index_path(parent, hits[0]);
    r.child = &n.seq[hits[0]];
    return r;
  }
  r.path = join_path(parent, s.text);
  if (hits.empty()) {
    r.err = "no element of " + shown + " has name " + cfg::quoted(s.text) + " (expected an index or an element's name)";
    if (auto dym = did_you_mean(s.text, names); !dym.empty()) r.err += "; did you mean '" + dym + "'?";
  } else {
    r.err = "name " + cfg::quoted(s.text) + " matches " + std::to_string(hits.size()) + " elements of " + shown + " (indices";
    for (std::size_t h : hits) r.err += " " + std::to_string(h);
    r.err += "); use an index";
  }
  return r;
}

void relocate(Node& n, const Location& where) {
  n.loc = n.key_loc = where;
  for (auto& e : n.map) relocate(e.second, where);
  for (auto& e : n.seq) relocate(e, where);
}

}  // namespace

const Node* get_path(const Node& root, std::string_view path) {
  std::string err;
  auto segs = split_path(path, err);
  if (!segs) return nullptr;
  const Node* cur = &root;
  std::string p;
  for (const Segment& s : *segs) {
    Step st = step(*cur, s, p);
    if (!st.child) return nullptr;
    cur = st.child;
    p = st.path;
  }
  return cur;
}

bool set_path(Node& root, std::string_view path, Node value, const Location& where, Diagnostics& d) {
  std::string err;
  auto segs = split_path(path, err);
  if (!segs) {
    d.error(where, trim(path), err);
    return false;
  }
  // Dry run: validate every segment before changing anything.
  const Node* cur = &root;
  std::string p;
  for (std::size_t i = 0; i < segs->size() && cur; ++i) {
    Step st = step(*cur, (*segs)[i], p);
    if (!st.err.empty()) {
      d.error(where, st.path, st.err);
      return false;
    }
    cur = st.child;
    p = st.path;
    if (!cur)  // the rest will be created as nested maps
      for (std::size_t j = i + 1; j < segs->size(); ++j)
        if ((*segs)[j].bracket) {
          d.error(where, p, cfg::quoted(p) + " does not exist, so [" + shortened((*segs)[j].text) + "] cannot be used");
          return false;
        }
  }
  // Apply.
  Node* n = &root;
  p.clear();
  for (std::size_t i = 0; i < segs->size(); ++i) {
    const bool last = i + 1 == segs->size();
    Step st = step(*n, (*segs)[i], p);
    p = st.path;
    if (st.child) {
      Node* child = const_cast<Node*>(st.child);  // `n` is mutable, so is its child
      if (last) {
        const Location k = n->is_map() ? where : value.loc;
        *child = std::move(value);
        child->key_loc = k;
        return true;
      }
      n = child;
    } else {
      n = &n->set((*segs)[i].text, last ? std::move(value) : Node::make_map(where), where);
      if (last) return true;
    }
  }
  return true;
}

bool apply_override(Node& root, std::string_view assignment, const Location& where, Diagnostics& d) {
  const std::string text = trim(assignment);
  Location loc = where;
  if (loc.line == 0 && loc.snippet.empty()) loc.snippet = text;
  if (std::size_t bad = 0; !valid_utf8(text, &bad)) {
    d.error(loc, "", "invalid UTF-8 (byte " + std::to_string(bad + 1) + " of the text); every text must be UTF-8");
    return false;
  }
  const auto eq = text.find('=');
  if (eq == std::string::npos) {
    d.error(loc, "", "expected 'path=value'; there is no '='");
    return false;
  }
  const std::string path = trim(std::string_view(text).substr(0, eq));
  // An empty value would parse as null, which means "the built-in default": almost always an
  // empty shell variable, not a wish. `path=null` says it explicitly.
  if (trim(std::string_view(text).substr(eq + 1)).empty()) {
    d.error(loc, path, "no value after '=' (to restore the built-in default, write '" + shortened(path) + "=null')");
    return false;
  }
  Diagnostics vd;
  std::optional<Node> value = parse_string(text.substr(eq + 1), loc.file, vd);
  for (const Diagnostic& e : vd.all()) d.error(loc, path, "invalid value: " + e.message);
  if (!value || !vd.empty()) return false;
  relocate(*value, loc);
  return set_path(root, path, std::move(*value), loc, d);
}

}  // namespace ts::cfg

#include "sim/config/yaml_tree.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace ts::cfg {
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// Node helpers

Node Node::make_null(const Location& where) {
  Node n;
  n.loc = n.key_loc = where;
  return n;
}
Node Node::make_scalar(std::string value, const Location& where, bool is_quoted) {
  Node n = make_null(where);
  n.kind = Kind::Scalar;
  n.scalar = std::move(value);
  n.quoted = is_quoted;
  return n;
}
Node Node::make_map(const Location& where) {
  Node n = make_null(where);
  n.kind = Kind::Map;
  return n;
}
Node Node::make_seq(const Location& where) {
  Node n = make_null(where);
  n.kind = Kind::Seq;
  return n;
}

const Node* Node::find(std::string_view key) const {
  if (!is_map()) return nullptr;
  for (const auto& [k, v] : map)
    if (k == key) return &v;
  return nullptr;
}
Node* Node::find(std::string_view key) { return const_cast<Node*>(std::as_const(*this).find(key)); }

Node& Node::set(std::string key, Node value, const Location& where_key) {
  if (!is_map()) {
    Node m = make_map(loc);
    m.key_loc = key_loc;
    *this = std::move(m);
  }
  value.key_loc = where_key;
  if (Node* old = find(key)) return *old = std::move(value);
  return map.emplace_back(std::move(key), std::move(value)).second;
}

bool Node::erase(std::string_view key) {
  auto it = std::find_if(map.begin(), map.end(), [&](const auto& e) { return e.first == key; });
  if (it == map.end()) return false;
  map.erase(it);
  return true;
}

const char* kind_name(Node::Kind k) {
  switch (k) {
    case Node::Kind::Null: return "null";
    case Node::Kind::Scalar: return "scalar";
    case Node::Kind::Map: return "mapping";
    case Node::Kind::Seq: return "sequence";
  }
  return "?";
}

std::string describe(const Node& n) {
  switch (n.kind) {
    case Node::Kind::Scalar: return cfg::quoted(n.scalar);
    case Node::Kind::Map: return "a mapping";
    case Node::Kind::Seq: return "a sequence";
    case Node::Kind::Null: break;
  }
  return "null";
}

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}
std::string index_path(const std::string& parent, std::size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}

// ---------------------------------------------------------------------------
// Parsing: yaml-cpp event handler building located Nodes

namespace {

constexpr std::size_t kMaxNodes = 1'000'000;  // guards against alias expansion bombs

struct TooLarge {};

std::size_t count_nodes(const Node& n) {
  std::size_t c = 1;
  for (const auto& e : n.map) c += count_nodes(e.second);
  for (const auto& e : n.seq) c += count_nodes(e);
  return c;
}

class Builder : public YAML::EventHandler {
 public:
  Builder(const std::string& text, const std::string& file, Diagnostics& d) : text_(text), file_(file), d_(d) {}

  std::optional<Node> root;
  bool fatal = false;

  Location at(const YAML::Mark& m) const {
    if (m.is_null()) return {file_, 0, 0};
    return {file_, m.line + 1, m.column + 1};
  }

  // Path of the value being parsed now (used for parse errors).
  std::string current_path() const {
    if (stack_.empty()) return {};
    const Frame& f = stack_.back();
    if (f.node.is_seq()) return index_path(f.path, f.node.seq.size());
    return f.has_key && f.key_ok ? join_path(f.path, f.key) : f.path;
  }

  // Message and key path for a yaml-cpp parse error, with a hint for common mistakes.
  std::pair<std::string, std::string> explain(const std::string& msg, const YAML::Mark& m) const {
    std::string text = "invalid YAML: " + msg;
    if (tab_indented(m.line)) return {text + " (tabs cannot be used for indentation)", current_path()};
    if (msg.find("flow") != std::string::npos)  // unclosed [ or {: name where it was opened
      for (auto it = stack_.rbegin(); it != stack_.rend(); ++it)
        if (it->flow)
          return {text + " (the bracket opened at line " + std::to_string(it->node.loc.line) + ", column " +
                      std::to_string(it->node.loc.column) + " is not closed)",
                  it->path};
    if (msg == "end of map not found" || msg == "end of sequence not found") text += " (check the indentation)";
    if (msg == "illegal map value") text += " (check the indentation, or quote a value containing ': ')";
    return {text, current_path()};
  }

  bool tab_indented(int line) const {  // 0-based line
    if (line < 0) return false;
    std::size_t pos = 0;
    for (int l = 0; l < line && pos < text_.size(); ++l) {
      pos = text_.find('\n', pos);
      pos = pos == std::string::npos ? text_.size() : pos + 1;
    }
    while (pos < text_.size() && text_[pos] == ' ') ++pos;
    return pos < text_.size() && text_[pos] == '\t';
  }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& m, YAML::anchor_t anchor) override {
    Node n = Node::make_null(at(m));
    // An empty value ("key:" with nothing after it) gets yaml-cpp's mark of the
    // *next* token; point at the key instead.
    const auto pos = static_cast<std::size_t>(std::max(m.pos, 0));
    const std::string_view rest = std::string_view(text_).substr(std::min(pos, text_.size()));
    const bool explicit_null = rest.starts_with("~") || rest.starts_with("null") ||
                               rest.starts_with("Null") || rest.starts_with("NULL");
    if (!explicit_null && !stack_.empty() && stack_.back().node.is_map() && stack_.back().has_key)
      n.loc = stack_.back().key_loc;
    add(std::move(n), anchor);
  }

  void OnAlias(const YAML::Mark& m, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {  // yaml-cpp rejects unknown anchors; this is a self-reference
      d_.error(at(m), current_path(), "alias refers to an anchor whose value contains the alias itself");
      add(Node::make_null(at(m)), 0);
      return;
    }
    nodes_ += count_nodes(it->second);
    if (nodes_ > kMaxNodes) throw TooLarge{};
    add(it->second, 0);
  }

  void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    // yaml-cpp: "?" = plain, "!" = quoted or block (| >) scalar, else an explicit tag.
    const bool quoted = tag == "!" || tag == "tag:yaml.org,2002:str";
    if (tag != "?" && tag != "!" && !tag.starts_with("tag:yaml.org,2002:"))
      d_.error(at(m), current_path(), "unsupported YAML tag " + cfg::quoted(tag));
    check_closing_quote(m);
    check_text(value, m);
    add(Node::make_scalar(value, at(m), quoted), anchor);
  }

  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value style) override {
    open(Node::make_seq(at(m)), anchor, style == YAML::EmitterStyle::Flow);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    open(Node::make_map(at(m)), anchor, style == YAML::EmitterStyle::Flow);
  }

  void OnMapEnd() override {
    // Apply `<<` merge keys: keys written in the map win, earlier merges win over later ones.
    Frame& f = stack_.back();
    for (const Node& mv : f.merges) {
      std::vector<const Node*> srcs;
      if (mv.is_map()) srcs.push_back(&mv);
      for (const Node& e : mv.seq) srcs.push_back(&e);
      if (srcs.empty() || std::any_of(srcs.begin(), srcs.end(), [](const Node* s) { return !s->is_map(); })) {
        d_.error(mv.loc, join_path(f.path, "<<"), "a '<<' merge value must be a mapping or a list of mappings");
        continue;
      }
      for (const Node* s : srcs)
        for (const auto& [k, v] : s->map)
          if (!f.node.find(k)) f.node.map.emplace_back(k, v);
    }
    close();
  }

 private:
  struct Frame {
    Node node;
    std::string path;
    YAML::anchor_t anchor = 0;
    bool flow = false;
    bool has_key = false;  // maps: a key was read, its value is pending
    bool key_ok = false;   // the pending key is usable
    bool merge_key = false;
    std::string key;
    Location key_loc;
    std::vector<Node> merges;  // values of `<<` keys
  };

  void open(Node n, YAML::anchor_t anchor, bool flow) {
    std::string path = current_path();
    stack_.push_back(Frame{std::move(n), std::move(path), anchor, flow, false, false, false, {}, {}, {}});
  }

  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    add(std::move(f.node), f.anchor);
  }

  void add(Node n, YAML::anchor_t anchor) {
    if (++nodes_ > kMaxNodes) throw TooLarge{};
    if (anchor != 0) anchors_[anchor] = n;
    if (stack_.empty()) {
      root = std::move(n);
      return;
    }
    Frame& f = stack_.back();
    if (f.node.is_seq()) {
      n.key_loc = n.loc;
      f.node.seq.push_back(std::move(n));
    } else if (!f.has_key) {  // n is a key
      f.has_key = true;
      f.key_ok = n.is_scalar() && !n.scalar.empty();
      f.merge_key = n.is_scalar() && !n.quoted && n.scalar == "<<";
      f.key = n.scalar;
      f.key_loc = n.loc;
      if (!f.key_ok)
        d_.error(n.loc, f.path,
                 n.is_scalar() || n.is_null() ? std::string("empty or null mapping key")
                                              : "mapping keys must be scalars, got " + describe(n));
    } else {  // n is the value of the pending key
      f.has_key = false;
      if (!f.key_ok) return;
      if (f.merge_key) {
        f.merges.push_back(std::move(n));
      } else if (const Node* first = f.node.find(f.key)) {
        d_.error(f.key_loc, join_path(f.path, f.key),
                 "duplicate key " + cfg::quoted(f.key) + " (first defined at line " + std::to_string(first->key_loc.line) +
                     ", column " + std::to_string(first->key_loc.column) + "); the first value is used");
      } else {
        n.key_loc = f.key_loc;
        f.node.map.emplace_back(f.key, std::move(n));
      }
    }
  }

  // Escapes ("\udc80", "\0") can make text that is not valid UTF-8 or holds a NUL, which
  // an HDF5 string cannot keep: refuse it where it was written.
  void check_text(const std::string& value, const YAML::Mark& m) {
    std::size_t bad = 0;
    if (!valid_utf8(value, &bad))
      d_.error(at(m), current_path(), "invalid UTF-8 in " + cfg::quoted(value) + " (byte " + std::to_string(bad + 1) +
                                          " of the text); every text must be UTF-8");
    else if (value.find('\0') != std::string::npos)
      d_.error(at(m), current_path(), "a NUL character (\\0) in " + cfg::quoted(value) + " is not allowed");
  }

  // yaml-cpp 0.7 silently accepts a quoted scalar that runs to the end of the input.
  void check_closing_quote(const YAML::Mark& m) {
    std::size_t i = static_cast<std::size_t>(std::max(m.pos, 0));
    if (i >= text_.size() || (text_[i] != '"' && text_[i] != '\'')) return;
    const char q = text_[i++];
    for (; i < text_.size(); ++i) {
      if (q == '"' && text_[i] == '\\') ++i;
      else if (text_[i] == q && !(q == '\'' && i + 1 < text_.size() && text_[i + 1] == '\'')) return;
      else if (q == '\'' && text_[i] == '\'') ++i;
    }
    d_.error(at(m), current_path(), std::string("unterminated quoted string: the closing ") + q + " is missing");
    fatal = true;
  }

  const std::string& text_;
  const std::string& file_;
  Diagnostics& d_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, Node> anchors_;
  std::size_t nodes_ = 0;
};

// Records only where a (superfluous) document starts.
struct DocStart : YAML::EventHandler {
  std::optional<YAML::Mark> mark;
  void OnDocumentStart(const YAML::Mark& m) override { mark = m; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

/// Reads a whole file of at most kMaxFileBytes. Refuses anything that is not a regular file
/// (a device such as /dev/zero, a FIFO, a socket, a directory) before reading a byte: the
/// file is opened without blocking (a FIFO would wait for a writer) and checked with fstat.
bool read_text(const std::string& path, std::string& out, std::string& why) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    why = std::strerror(errno);
    return false;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    why = std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    why = S_ISDIR(st.st_mode)    ? "is a directory"
          : S_ISFIFO(st.st_mode) ? "is a FIFO (named pipe), not a regular file"
          : S_ISCHR(st.st_mode)  ? "is a character device, not a regular file"
          : S_ISBLK(st.st_mode)  ? "is a block device, not a regular file"
          : S_ISSOCK(st.st_mode) ? "is a socket, not a regular file"
                                 : "is not a regular file";
    return false;
  }
  const auto too_large = [&](std::uintmax_t n) {
    why = "is " + std::to_string(n) + " bytes; a scenario file may have at most " +
          std::to_string(kMaxFileBytes >> 20) + " MiB (" + std::to_string(kMaxFileBytes) + " bytes)";
    return false;
  };
  if (std::uintmax_t(st.st_size) > kMaxFileBytes) return too_large(std::uintmax_t(st.st_size));
  // Read at most one byte past the limit (a file may grow, or report size 0 as /proc files do).
  out.clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      why = std::strerror(errno);
      return false;
    }
    if (n == 0) break;
    out.append(buf, std::size_t(n));
    if (out.size() > kMaxFileBytes) return too_large(out.size());
  }
  return true;
}

}  // namespace

std::optional<Node> parse_string(const std::string& text, const std::string& file_name, Diagnostics& d) {
  const std::string body = text.starts_with("\xEF\xBB\xBF") ? text.substr(3) : text;  // strip UTF-8 BOM
  if (std::size_t bad = 0; !valid_utf8(body, &bad)) {
    // Line and column (in characters) of the first invalid byte.
    int line = 1, col = 1;
    for (std::size_t i = 0; i < bad; ++i) {
      if (body[i] == '\n') ++line, col = 1;
      else if ((static_cast<unsigned char>(body[i]) & 0xC0) != 0x80) ++col;
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(body[bad]));
    const bool utf16 = text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF");
    d.error({file_name, line, col}, "",
            std::string("invalid UTF-8 (byte ") + hex + "): the text must be UTF-8" +
                (utf16 ? " (this looks like UTF-16: save the file as UTF-8)" : ""));
    return std::nullopt;
  }
  std::istringstream in(body);
  Builder b(body, file_name, d);
  try {
    YAML::Parser parser(in);
    if (parser.HandleNextDocument(b)) {
      DocStart extra;
      if (parser.HandleNextDocument(extra) && extra.mark)
        d.error(b.at(*extra.mark), "", "a file must contain a single YAML document; this '---' starts a second one");
    }
  } catch (const YAML::Exception& e) {
    auto [msg, path] = b.explain(e.msg, e.mark);
    d.error(b.at(e.mark), path, msg);
    return std::nullopt;
  } catch (const TooLarge&) {
    d.error({file_name, 0, 0}, "", "document too large (more than 1000000 nodes after expanding aliases)");
    return std::nullopt;
  }
  if (b.fatal) return std::nullopt;
  if (!b.root) return Node::make_null({file_name, 1, 1});  // empty document
  return std::move(b.root);
}

std::optional<Node> parse_file(const std::string& path, Diagnostics& d) {
  std::string text, why;
  if (!read_text(path, text, why)) {
    d.error({path, 0, 0}, "", "cannot read file '" + path + "': " + why);
    return std::nullopt;
  }
  return parse_string(text, path, d);
}

// ---------------------------------------------------------------------------
// Scenario loading with `extends:`

Node deep_merge(Node base, const Node& child) {
  if (!base.is_map() || !child.is_map()) return child;
  for (const auto& [k, v] : child.map) {
    Node* b = base.find(k);
    if (!b) base.map.emplace_back(k, v);
    else if (b->is_map() && v.is_map()) *b = deep_merge(std::move(*b), v);
    else *b = v;
  }
  base.loc = child.loc;
  base.key_loc = child.key_loc;
  return base;
}

namespace {

constexpr std::size_t kMaxExtendsDepth = 32;

class ScenarioLoader {
 public:
  ScenarioLoader(const std::string& top, Diagnostics& d, const LoadHooks& hooks)
      : top_dir_(fs::path(top).parent_path()), d_(d), hooks_(hooks) {}

  std::vector<Source> sources;
  bool ok = true;

  // Loads `path` (display name) and its bases; `from` is the `extends` entry that names it.
  std::optional<Node> load(const std::string& path, const Location* from, const std::string& from_path) {
    std::error_code ec;
    fs::path canon = fs::weakly_canonical(path, ec);
    if (ec) canon = fs::absolute(path).lexically_normal();
    const std::string key = canon.string();

    if (std::find(chain_.begin(), chain_.end(), key) != chain_.end()) {
      std::string msg = "circular 'extends': ";
      for (const std::string& n : names_) msg += n + " -> ";
      return fail(*from, from_path, msg + short_name(path));
    }
    if (chain_.size() >= kMaxExtendsDepth)
      return fail(*from, from_path, "'extends' chain is deeper than " + std::to_string(kMaxExtendsDepth) + " files");

    auto cached = cache_.find(key);
    if (cached == cache_.end()) {
      std::string text, why;
      if (!read_text(path, text, why)) {
        if (from) return fail(*from, from_path, "cannot read base scenario " + cfg::quoted(path, 200) + ": " + why);
        return fail({path, 0, 0}, "", "cannot read scenario file " + cfg::quoted(path, 200) + ": " + why);
      }
      source_index_[key] = sources.size();
      sources.push_back({path, text, {}});
      cached = cache_.emplace(key, parse_string(text, path, d_)).first;
    }
    if (!cached->second) {
      ok = false;
      return std::nullopt;
    }
    Node root = *cached->second;
    if (root.is_null()) root = Node::make_map(root.loc);
    if (!root.is_map())
      return fail(root.loc, "", "a scenario file must be a mapping of keys at the top level, got " + describe(root));

    Node* ext = root.find("extends");
    if (!ext) return root;
    std::vector<const Node*> bases;
    if (ext->is_scalar()) bases.push_back(ext);
    for (const Node& e : ext->seq) bases.push_back(&e);
    const bool well_formed = !bases.empty() && std::all_of(bases.begin(), bases.end(), [](const Node* b) {
      return b->is_scalar() && !b->scalar.empty();
    });
    if (!well_formed)
      return fail(ext->loc, "extends", "expected a file name or a list of file names, got " + describe(*ext));

    chain_.push_back(key);
    names_.push_back(short_name(path));
    std::optional<Node> merged;
    bool bases_ok = true;
    std::vector<std::string> base_paths;
    for (std::size_t i = 0; i < bases.size(); ++i) {
      const std::string base_path = (fs::path(path).parent_path() / bases[i]->scalar).lexically_normal().string();
      base_paths.push_back(base_path);
      auto b = load(base_path, &bases[i]->loc, ext->is_seq() ? index_path("extends", i) : "extends");
      if (!b) bases_ok = false;
      else merged = merged ? deep_merge(std::move(*merged), *b) : std::move(*b);
    }
    chain_.pop_back();
    names_.pop_back();
    if (auto it = source_index_.find(key); it != source_index_.end()) sources[it->second].bases = base_paths;
    if (!bases_ok) return std::nullopt;
    root.erase("extends");
    if (hooks_.before_merge) hooks_.before_merge(*merged, root, d_);
    return deep_merge(std::move(*merged), root);
  }

 private:
  std::nullopt_t fail(const Location& where, const std::string& path, std::string msg) {
    ok = false;
    d_.error(where, path, std::move(msg));
    return std::nullopt;
  }

  // Path relative to the top-level scenario's directory, for cycle messages.
  std::string short_name(const std::string& path) const {
    if (top_dir_.empty()) return path;
    fs::path rel = fs::path(path).lexically_relative(top_dir_);
    return rel.empty() ? path : rel.string();
  }

  fs::path top_dir_;
  Diagnostics& d_;
  const LoadHooks& hooks_;
  std::map<std::string, std::optional<Node>> cache_;  // canonical path -> parsed file (each file read once)
  std::map<std::string, std::size_t> source_index_;   // canonical path -> index in `sources`
  std::vector<std::string> chain_, names_;           // current extends chain (canonical / display)
};

}  // namespace

std::optional<Loaded> load_files(const std::string& path, Diagnostics& d, const LoadHooks& hooks) {
  ScenarioLoader loader(path, d, hooks);
  std::optional<Node> root = loader.load(path, nullptr, "");
  if (!root || !loader.ok) return std::nullopt;
  return Loaded{std::move(*root), std::move(loader.sources)};
}

// ---------------------------------------------------------------------------

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto lower = [](std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
  };
  // Optimal string alignment distance (Levenshtein + adjacent transpositions).
  auto distance = [](const std::string& a, const std::string& b) {
    const std::size_t m = a.size(), n = b.size();
    std::vector<std::vector<std::size_t>> t(m + 1, std::vector<std::size_t>(n + 1));
    for (std::size_t i = 0; i <= m; ++i) t[i][0] = i;
    for (std::size_t j = 0; j <= n; ++j) t[0][j] = j;
    for (std::size_t i = 1; i <= m; ++i)
      for (std::size_t j = 1; j <= n; ++j) {
        t[i][j] = std::min({t[i - 1][j] + 1, t[i][j - 1] + 1, t[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          t[i][j] = std::min(t[i][j], t[i - 2][j - 2] + 1);
      }
    return t[m][n];
  };
  const std::string w = lower(word);
  const std::size_t limit = std::max<std::size_t>(1, word.size() / 3);
  std::string best;
  std::size_t best_d = limit + 1;
  for (const std::string& c : candidates) {
    const std::size_t dist = distance(w, lower(c));
    if (dist < best_d) {
      best_d = dist;
      best = c;
    }
  }
  return best;
}

}  // namespace ts::cfg

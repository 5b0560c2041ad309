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

// ---------------------------------------------------------------------------
// Emitting

namespace {

bool is_null_word(std::string_view s) { return s == "~" || s == "null" || s == "Null" || s == "NULL"; }

bool plain_ok(std::string_view s) {
  if (s.empty() || is_null_word(s) || s == "<<") return false;
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  if (std::string_view("!&*{}[],#|>@`\"'%?:").find(s.front()) != std::string_view::npos) return false;
  if (s.front() == '-' && (s.size() == 1 || s[1] == ' ' || s.starts_with("---"))) return false;
  if (s.starts_with("...")) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return s.find(": ") == std::string_view::npos && s.find(" #") == std::string_view::npos;
}

std::string double_quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static const char* hex = "0123456789abcdef";
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string scalar_text(const Node& n) {
  if (n.is_null()) return "null";
  if (n.is_map()) return "{}";
  if (n.is_seq()) return "[]";
  return !n.quoted && plain_ok(n.scalar) ? n.scalar : double_quoted(n.scalar);
}

bool nested(const Node& n) { return n.size() > 0; }

// Writes a non-empty map or sequence at `indent`; the first line's indentation
// is omitted when `inline_first` (it follows "- ").
void emit(const Node& n, int indent, bool inline_first, std::string& out) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  bool first = true;
  auto start_line = [&] {
    if (!(first && inline_first)) out += pad;
    first = false;
  };
  for (const auto& [k, v] : n.map) {
    start_line();
    out += plain_ok(k) ? k : double_quoted(k);
    out += ':';
    if (nested(v)) {
      out += '\n';
      emit(v, indent + 2, false, out);
    } else {
      out += ' ' + scalar_text(v) + '\n';
    }
  }
  for (const Node& e : n.seq) {
    start_line();
    out += "- ";
    if (nested(e)) emit(e, indent + 2, true, out);
    else out += scalar_text(e) + '\n';
  }
}

}  // namespace

std::string to_yaml(const Node& n) {
  if (!nested(n)) return scalar_text(n) + "\n";
  std::string out;
  emit(n, 0, false, out);
  return out;
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

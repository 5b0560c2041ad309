// Generic layer of the scenario loader: a located YAML tree, `extends:`
// inheritance and `--set` style overrides.
//
// The tree keeps, for every value, where it was written (file/line/column) and
// whether a scalar was quoted, so that a later layer can validate it against the
// parameter structs and report precise diagnostics. Nothing here throws on bad
// input: problems go to a Diagnostics collector and parsing continues where it
// can, so that all problems of a file are reported in one run.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/config/diagnostics.hpp"

namespace ts::cfg {

struct Node {
  enum class Kind { Null, Scalar, Map, Seq };

  // Declared so that Node is not an aggregate: clang 14 with libstdc++ 12 otherwise needs
  // std::pair<std::string, Node> complete while Node is being defined, and rejects this header.
  Node() = default;

  Kind kind = Kind::Null;
  std::string scalar;   // for Scalar
  bool quoted = false;  // scalar was quoted ('...', "...", block |, >, or !!str) -> always a string
  std::vector<std::pair<std::string, Node>> map;  // ordered as written; keys unique
  std::vector<Node> seq;
  Location loc;      // where the value starts (for an empty `key:` value: the key)
  Location key_loc;  // where its key was written (for map entries); == loc otherwise

  static Node make_null(const Location& where = {});
  static Node make_scalar(std::string value, const Location& where = {}, bool quoted = false);
  static Node make_map(const Location& where = {});
  static Node make_seq(const Location& where = {});

  bool is_null() const { return kind == Kind::Null; }
  bool is_scalar() const { return kind == Kind::Scalar; }
  bool is_map() const { return kind == Kind::Map; }
  bool is_seq() const { return kind == Kind::Seq; }

  // Map lookup (nullptr if absent or not a map).
  const Node* find(std::string_view key) const;
  Node* find(std::string_view key);
  // Map insert-or-replace; the entry's key_loc is set to `key_loc`. A non-map
  // node (normally Null) first becomes an empty map, keeping its locations.
  Node& set(std::string key, Node value, const Location& key_loc);
  // Removes a map entry; returns whether it existed.
  bool erase(std::string_view key);
  // Number of map entries or sequence elements (0 for scalars and null).
  std::size_t size() const { return is_map() ? map.size() : seq.size(); }
};

// "null", "scalar", "mapping", "sequence".
const char* kind_name(Node::Kind k);
// Short description for messages: "'abc'", "a mapping", "a sequence", "null".
std::string describe(const Node& n);

std::string join_path(const std::string& parent, std::string_view key);  // "a"+"b" -> "a.b"; ""+"b" -> "b"
std::string index_path(const std::string& parent, std::size_t i);         // "firms" -> "firms[3]"

// The largest file parse_file() and load_files() read (16 MiB). A scenario is a few tens of
// kilobytes; anything larger, or anything that is not a regular file (a device such as
// /dev/zero, a FIFO, a socket), is refused before it is read.
inline constexpr std::size_t kMaxFileBytes = std::size_t{16} << 20;

// Parse one YAML document. The text must be UTF-8 (an invalid byte is reported at its line
// and column; every text may end up in an HDF5 UTF-8 string); a NUL character in a scalar
// is refused too (it would cut the string short). Malformed YAML -> diagnostic at the error position
// with yaml-cpp's message and nullopt. Problems that leave a usable tree
// (duplicate keys: the first is kept; non-scalar or null keys: the entry is
// dropped; unsupported tags; a second document) are reported and the tree is
// still returned, so callers must check `d`. Anchors/aliases are expanded
// (an alias keeps the locations of the anchored value) and `<<` merge keys are
// applied. An empty document yields a Null node.
std::optional<Node> parse_string(const std::string& text, const std::string& file_name, Diagnostics& d);
// As parse_string; an unreadable file -> diagnostic naming it, nullopt.
std::optional<Node> parse_file(const std::string& path, Diagnostics& d);

// Scenario loading with inheritance. A top-level `extends: base.yaml` (or a
// list of files, applied in order; paths relative to the extending file's
// directory) names bases. Result = deep merge: maps merge key by key (the child
// wins and keeps its locations), any other value in the child replaces the
// base's whole. `extends` is removed. Missing bases, cycles
// ("a.yaml -> b.yaml -> a.yaml") and chains deeper than 32 are diagnosed.
// Returns nullopt when the scenario could not be assembled (unreadable or
// malformed file, bad `extends`, non-mapping top level); otherwise the merged
// tree (root always a Map) even if recoverable problems were reported in `d`.
struct Source {
  std::string path;                ///< as read; the `file` of every Location in it
  std::string text;
  std::vector<std::string> bases;  ///< paths of the files it extends, in order
};  // every file read, in the order read (the scenario itself first)
struct Loaded {
  Node root;
  std::vector<Source> sources;
};
// Called before a file that extends others is merged onto its (merged) bases: it may
// report problems and adjust the base (e.g. make defaults explicit).
struct LoadHooks {
  std::function<void(Node& base, const Node& child, Diagnostics& d)> before_merge;
};
std::optional<Loaded> load_files(const std::string& path, Diagnostics& d, const LoadHooks& hooks = {});
// The merge used by load_files (exposed for timeline/preset layers).
Node deep_merge(Node base, const Node& child);

// Overrides. `assignment` is "a.b.c=value"; the value is parsed as YAML and all
// its nodes get location `where` (a --set location {"--set", 0, 0} also records
// the assignment text so diagnostics read "--set a.b.c=value: ...").
// Path segments are separated by '.', and each is a map key, a decimal index
// into a sequence ("firms.3.budget" or "firms[3].budget"), or a name selector
// matching the `name:` scalar of exactly one map element of a sequence
// ("firms.OpenAI.max_package", also "firms[OpenAI]"). On a sequence a decimal
// segment is always an index. Missing map keys (and Null nodes on the way) are
// created as maps. Errors -> diagnostic at `where`, returns false, root unchanged.
bool apply_override(Node& root, std::string_view assignment, const Location& where, Diagnostics& d);
bool set_path(Node& root, std::string_view path, Node value, const Location& where, Diagnostics& d);
const Node* get_path(const Node& root, std::string_view path);  // nullptr if absent / invalid path

// Block-style YAML; keys in order; scalars quoted where needed so that
// parse_string(to_yaml(n)) reproduces kinds, scalars and quotedness.
std::string to_yaml(const Node& n);

// Closest candidate by edit distance (adjacent transpositions count 1) if the
// distance is <= max(1, word.size() / 3), else "". Ties: the first candidate.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace ts::cfg

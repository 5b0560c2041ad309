#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <random>
#include <fstream>
#include <string>

#include "sim/config/yaml_tree.hpp"

using namespace ts::cfg;

namespace {

const std::string kDir = std::string(TALENTSIM_SOURCE_DIR) + "/tests/data/yaml/";

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

Node parse_ok(const std::string& text) {
  Diagnostics d;
  auto n = parse_string(text, "t.yaml", d);
  REQUIRE_MESSAGE(d.empty(), d.format());
  REQUIRE(n);
  return *n;
}

const Node& at(const Node& root, const std::string& path) {
  const Node* n = get_path(root, path);
  REQUIRE_MESSAGE(n, "missing " << path);
  return *n;
}

}  // namespace

TEST_CASE("cfg: path helpers") {
  CHECK(join_path("", "b") == "b");
  CHECK(join_path("a", "b") == "a.b");
  CHECK(index_path("firms", 3) == "firms[3]");
  CHECK(join_path(index_path("firms", 3), "budget") == "firms[3].budget");
}

TEST_CASE("cfg: locations of nested values, quoting and nulls") {
  Diagnostics d;
  auto root = parse_file(kDir + "nested.yaml", d);
  REQUIRE_MESSAGE(d.empty(), d.format());
  REQUIRE(root);
  REQUIRE(root->is_map());
  CHECK(root->map.size() == 2);
  CHECK(root->map[0].first == "market");  // order as written
  CHECK(root->map[1].first == "firms");

  const Node& lambda = at(*root, "market.lambda0");
  CHECK(lambda.is_scalar());
  CHECK(lambda.scalar == "0.5");
  CHECK_FALSE(lambda.quoted);
  CHECK(lambda.loc.file == kDir + "nested.yaml");
  CHECK(lambda.loc.line == 3);
  CHECK(lambda.loc.column == 12);
  CHECK(lambda.key_loc.line == 3);
  CHECK(lambda.key_loc.column == 3);

  CHECK(at(*root, "market.label").quoted);
  CHECK(at(*root, "market.label").scalar == "quoted");
  CHECK(at(*root, "market.label").loc.column == 10);  // at the quote
  CHECK_FALSE(at(*root, "market.plain").quoted);
  CHECK(at(*root, "market.single").quoted);
  CHECK(at(*root, "market.single").scalar == "it's");
  CHECK(at(*root, "market.number_str").quoted);
  CHECK(at(*root, "market.number_str").scalar == "42");

  const Node& empty = at(*root, "market.empty");  // "empty:" -> null located at its key
  CHECK(empty.is_null());
  CHECK(empty.loc.line == 8);
  CHECK(empty.loc.column == 3);
  CHECK(at(*root, "market.nul").is_null());
  CHECK(at(*root, "market.nul").loc.line == 9);
  CHECK(at(*root, "market.nul").loc.column == 8);

  const Node& firms = at(*root, "firms");
  REQUIRE(firms.is_seq());
  CHECK(firms.seq.size() == 2);
  CHECK(firms.loc.line == 11);
  CHECK(firms.key_loc.line == 10);
  CHECK(firms.seq[1].loc.line == 13);
  CHECK(firms.seq[1].loc.column == 5);
  CHECK(firms.seq[1].key_loc.line == 13);  // == loc for sequence elements
  const Node& budget = at(*root, "firms[1].budget");
  CHECK(budget.scalar == "200");
  CHECK(budget.loc.line == 14);
  CHECK(budget.loc.column == 13);
}

TEST_CASE("cfg: scalar kinds, block scalars, tags, anchors and merge keys") {
  Node n = parse_ok(
      "a: |\n  line1\n  line2\nb: !!str 5\nc: &c {x: 1, y: [1, 2]}\nd: *c\n"
      "e:\n  <<: *c\n  x: 9\nf: 'null'\ng: null\n");
  CHECK(at(n, "a").quoted);
  CHECK(at(n, "a").scalar == "line1\nline2\n");
  CHECK(at(n, "b").quoted);
  CHECK(at(n, "d.y[1]").scalar == "2");
  CHECK(at(n, "d.x").loc.line == 5);  // alias keeps the anchored value's locations
  CHECK(at(n, "e.x").scalar == "9");  // explicit key wins over the merge
  CHECK(at(n, "e.y").is_seq());
  CHECK(n.find("e")->find("<<") == nullptr);
  CHECK(at(n, "f").is_scalar());
  CHECK(at(n, "f").quoted);
  CHECK(at(n, "g").is_null());

  Diagnostics d;
  auto t = parse_string("a: !custom x\n", "t.yaml", d);
  CHECK(t);
  CHECK(contains(d.format(), "t.yaml:1:4: a: unsupported YAML tag '!custom'"));
}

TEST_CASE("cfg: empty document is a Null node") {
  Node n = parse_ok("");
  CHECK(n.is_null());
  CHECK(parse_ok("# just a comment\n").is_null());
}

TEST_CASE("cfg: malformed YAML gives file:line:col") {
  Diagnostics d;
  auto n = parse_file(kDir + "malformed.yaml", d);
  CHECK_FALSE(n);
  REQUIRE(d.size() == 1);
  const Diagnostic& e = d.all()[0];
  CHECK(e.loc.file == kDir + "malformed.yaml");
  CHECK(e.loc.line == 4);
  CHECK(e.loc.column > 0);
  CHECK(contains(e.message, "invalid YAML: end of sequence flow not found"));
  CHECK(contains(e.message, "line 3, column 10"));  // where the '[' was opened
  CHECK(e.path == "market.sizes");
  CHECK(contains(d.format(), "malformed.yaml:4:"));

  Diagnostics d2;
  CHECK_FALSE(parse_string("a: b: c\n", "x.yaml", d2));
  CHECK(contains(d2.format(), "x.yaml:1:5: invalid YAML: illegal map value"));

  Diagnostics d3;  // yaml-cpp 0.7 accepts this silently; we don't
  CHECK_FALSE(parse_string("a: 1\nb: \"open\nc: 2\n", "q.yaml", d3));
  CHECK(contains(d3.format(), "q.yaml:2:4: b: unterminated quoted string"));

  Diagnostics d4;
  CHECK_FALSE(parse_string("a: *nope\n", "x.yaml", d4));
  CHECK(d4.size() == 1);

  Diagnostics d5;
  auto two = parse_string("a: 1\n---\nb: 2\n", "x.yaml", d5);
  CHECK(two);
  CHECK(contains(d5.format(), "x.yaml:2:1: a file must contain a single YAML document"));
}

TEST_CASE("cfg: duplicate keys report both lines; all problems collected in one pass") {
  Diagnostics d;
  auto n = parse_file(kDir + "many_errors.yaml", d);
  REQUIRE(n);  // recoverable: the tree is still returned
  REQUIRE(d.size() == 3);
  const std::string f = kDir + "many_errors.yaml";
  const std::string out = d.format();
  CHECK(contains(out, f + ":5:3: b.x: duplicate key 'x' (first defined at line 3, column 3)"));
  CHECK(contains(out, f + ":6:1: a: duplicate key 'a' (first defined at line 1, column 1)"));
  CHECK(contains(out, f + ":7:1: mapping keys must be scalars, got a sequence"));
  CHECK(at(*n, "a").scalar == "1");  // first kept
  CHECK(at(*n, "b.x").scalar == "1");
  CHECK(at(*n, "c").scalar == "ok");
  CHECK(n->map.size() == 3);
}

TEST_CASE("cfg: Diagnostics format and order") {
  Diagnostics d;
  d.error({"b.yaml", 3, 1}, "x", "third");
  d.error({"--set", 0, 0, "market.lambda0=abc"}, "market.lambda0", "expected a number in [0, 1], got 'abc'");
  d.error({"a.yaml", 12, 5}, "market.lambda0", "expected a number in [0, 1], got 'abc'");
  d.error({"a.yaml", 2, 7}, "", "no path");
  d.error({"a.yaml", 12, 5}, "y", "same place, later");
  CHECK(d.size() == 5);
  CHECK(d.all()[0].message == "third");  // all() keeps insertion order
  CHECK(d.format() ==
        "a.yaml:2:7: no path\n"
        "a.yaml:12:5: market.lambda0: expected a number in [0, 1], got 'abc'\n"
        "a.yaml:12:5: y: same place, later\n"
        "b.yaml:3:1: x: third\n"
        "--set market.lambda0=abc: market.lambda0: expected a number in [0, 1], got 'abc'\n");
}

TEST_CASE("cfg: extends merge semantics") {
  Diagnostics d;
  auto l = load_files(kDir + "child.yaml", d);
  REQUIRE_MESSAGE(d.empty(), d.format());
  REQUIRE(l);
  const Node& r = l->root;
  const std::string child = kDir + "child.yaml", base = kDir + "base.yaml";
  CHECK(r.find("extends") == nullptr);
  CHECK(at(r, "market.lambda0").scalar == "0.7");  // child wins...
  CHECK(at(r, "market.lambda0").loc.file == child);  // ...with its location
  CHECK(at(r, "market.lambda0").loc.line == 3);
  CHECK(at(r, "market.growth").scalar == "0.1");  // nested maps merge
  CHECK(at(r, "market.growth").loc.file == base);
  CHECK(at(r, "market.growth").loc.line == 3);
  CHECK(at(r, "market.shocks.size").scalar == "1");
  CHECK(at(r, "market.shocks.rate").scalar == "5");
  CHECK(at(r, "market.shocks.rate").loc.file == child);
  CHECK(at(r, "firms").seq.size() == 1);  // lists replace
  CHECK(at(r, "firms[0].name").scalar == "C");
  CHECK(at(r, "seed").is_null());  // null replaces
  CHECK(at(r, "base_only").loc.file == base);
  // base order first, then keys new in the child
  REQUIRE(r.map.size() == 4);
  CHECK(r.map[0].first == "market");
  CHECK(r.map[3].first == "base_only");
  REQUIRE(l->sources.size() == 2);
  CHECK(l->sources[0].path == child);
  CHECK(l->sources[1].path == base);
  CHECK(contains(l->sources[1].text, "base_only: here"));
}

TEST_CASE("cfg: extends chain of 3 with a relative path, and a list of bases") {
  Diagnostics d;
  auto l = load_files(kDir + "sub/grandchild.yaml", d);
  REQUIRE_MESSAGE(d.empty(), d.format());
  REQUIRE(l);
  CHECK(l->sources.size() == 3);
  CHECK(at(l->root, "market.growth").scalar == "0.2");
  CHECK(at(l->root, "market.growth").loc.file == kDir + "sub/grandchild.yaml");
  CHECK(at(l->root, "market.lambda0").loc.file == kDir + "child.yaml");
  CHECK(at(l->root, "market.shocks.size").loc.file == kDir + "base.yaml");
  CHECK(at(l->root, "extra").scalar == "x");

  Diagnostics d2;
  auto m = load_files(kDir + "multi_extends.yaml", d2);
  REQUIRE_MESSAGE(d2.empty(), d2.format());
  REQUIRE(m);
  CHECK(at(m->root, "seed").scalar == "2");  // later base wins over earlier
  CHECK(at(m->root, "market.growth").scalar == "0.3");
  CHECK(at(m->root, "market.lambda0").scalar == "0.5");
  CHECK(at(m->root, "other_only").scalar == "1");
  CHECK(at(m->root, "base_only").scalar == "overridden");
}

TEST_CASE("cfg: extends errors: missing base, cycle, bad value, depth, unreadable") {
  Diagnostics d;
  CHECK_FALSE(load_files(kDir + "missing_base.yaml", d));
  REQUIRE(d.size() == 1);
  CHECK(d.all()[0].loc.line == 2);
  CHECK(d.all()[0].loc.column == 10);
  CHECK(d.all()[0].path == "extends");
  CHECK(contains(d.all()[0].message, "does_not_exist.yaml"));

  Diagnostics c;
  CHECK_FALSE(load_files(kDir + "cycle_a.yaml", c));
  REQUIRE(c.size() == 1);
  CHECK(contains(c.all()[0].message, "cycle_a.yaml -> cycle_b.yaml -> cycle_a.yaml"));
  CHECK(c.all()[0].loc.file == kDir + "cycle_b.yaml");
  CHECK(c.all()[0].loc.line == 1);

  Diagnostics u;
  CHECK_FALSE(load_files(kDir + "no_such_file.yaml", u));
  REQUIRE(u.size() == 1);
  CHECK(contains(u.format(), "no_such_file.yaml: cannot read scenario file"));
  Diagnostics u2;
  CHECK_FALSE(parse_file(kDir + "no_such_file.yaml", u2));
  CHECK(contains(u2.format(), "cannot read file"));

  // Generated files: bad extends value, too deep a chain, diamond (not a cycle).
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path() / ("talentsim_cfg_test_" + std::to_string(std::random_device{}()));
  fs::create_directories(tmp);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(tmp / name) << text;
    return (tmp / name).string();
  };
  Diagnostics b;
  CHECK_FALSE(load_files(write("bad.yaml", "extends: {a: 1}\n"), b));
  CHECK(contains(b.format(), "bad.yaml:1:10: extends: expected a file name or a list of file names, got a mapping"));

  for (int i = 0; i < 40; ++i)
    write("deep" + std::to_string(i) + ".yaml", "extends: deep" + std::to_string(i + 1) + ".yaml\nv" +
                                                    std::to_string(i) + ": 1\n");
  write("deep40.yaml", "v40: 1\n");
  Diagnostics dp;
  CHECK_FALSE(load_files((tmp / "deep0.yaml").string(), dp));
  CHECK(contains(dp.format(), "deeper than 32"));
  Diagnostics ok;
  auto shallow = load_files((tmp / "deep20.yaml").string(), ok);
  CHECK(ok.empty());
  REQUIRE(shallow);
  CHECK(shallow->root.map.size() == 21);

  write("d_base.yaml", "x: 1\n");
  write("d_l.yaml", "extends: d_base.yaml\nl: 1\n");
  write("d_r.yaml", "extends: d_base.yaml\nr: 1\n");
  Diagnostics dm;
  auto diamond = load_files(write("d_top.yaml", "extends: [d_l.yaml, d_r.yaml]\n"), dm);
  CHECK_MESSAGE(dm.empty(), dm.format());
  REQUIRE(diamond);
  CHECK(diamond->root.map.size() == 3);
  CHECK(diamond->sources.size() == 4);  // each file read once

  Diagnostics rec;  // recoverable problems in several files: all reported, tree still returned
  write("rec_base.yaml", "a: 1\na: 2\n");
  auto recovered = load_files(write("rec_child.yaml", "extends: rec_base.yaml\nb: 1\nb: 2\n"), rec);
  REQUIRE(recovered);
  CHECK(rec.size() == 2);
  CHECK(contains(rec.format(), "rec_base.yaml:2:1: a: duplicate key 'a'"));
  CHECK(contains(rec.format(), "rec_child.yaml:3:1: b: duplicate key 'b'"));
  CHECK(recovered->root.map.size() == 2);

  Diagnostics e;
  auto empty = load_files(write("empty.yaml", ""), e);
  REQUIRE(empty);
  CHECK(empty->root.is_map());
  Diagnostics s;
  CHECK_FALSE(load_files(write("seq.yaml", "- 1\n"), s));
  CHECK(contains(s.format(), "must be a mapping"));
  fs::remove_all(tmp);
}

TEST_CASE("cfg: overrides, every segment form") {
  Node root = parse_ok(
      "market:\n  lambda0: 0.5\nfirms:\n  - name: OpenAI\n    budget: 1\n  - name: Anthropic\n    budget: 2\n");
  const Location set{"--set", 0, 0};
  Diagnostics d;
  CHECK(apply_override(root, "market.lambda0=0.9", set, d));
  CHECK(at(root, "market.lambda0").scalar == "0.9");
  CHECK(at(root, "market.lambda0").loc.file == "--set");
  CHECK(at(root, "market.lambda0").loc.snippet == "market.lambda0=0.9");
  CHECK(at(root, "market.lambda0").loc.line == 0);
  CHECK(apply_override(root, "firms.1.budget=20", set, d));
  CHECK(at(root, "firms[1].budget").scalar == "20");
  CHECK(apply_override(root, "firms[0].budget=10", set, d));
  CHECK(at(root, "firms.0.budget").scalar == "10");
  CHECK(apply_override(root, "firms.OpenAI.max_package=3", set, d));
  CHECK(at(root, "firms[0].max_package").scalar == "3");
  CHECK(at(root, "firms.OpenAI.max_package").scalar == "3");
  CHECK(apply_override(root, "firms[Anthropic].budget = 7", set, d));
  CHECK(at(root, "firms[1].budget").scalar == "7");
  CHECK(apply_override(root, "new.deep.key=[1, 2]", set, d));  // intermediate maps created
  CHECK(at(root, "new.deep.key").is_seq());
  CHECK(at(root, "new.deep.key[1]").scalar == "2");
  CHECK(at(root, "new.deep.key[1]").loc.file == "--set");
  CHECK(apply_override(root, "market={x: 1}", set, d));  // replaces the whole map
  CHECK(at(root, "market").map.size() == 1);
  CHECK(apply_override(root, "label='0.5'", set, d));
  CHECK(at(root, "label").quoted);
  CHECK(apply_override(root, "firms.1={name: Z}", set, d));
  CHECK(at(root, "firms[1].name").scalar == "Z");
  {  // an empty value is refused (an empty shell variable, not a wish for the default) ...
    Diagnostics e;
    CHECK_FALSE(apply_override(root, "gone= ", set, e));
    CHECK(root.find("gone") == nullptr);
    CHECK(e.format() == "--set gone=: gone: no value after '=' (to restore the built-in default, write 'gone=null')\n");
  }
  CHECK(apply_override(root, "gone=null", set, d));  // ... `null` says it
  CHECK(at(root, "gone").is_null());
  CHECK(apply_override(root, "gone.x=1", set, d));  // a null becomes a map
  CHECK(at(root, "gone.x").scalar == "1");
  REQUIRE_MESSAGE(d.empty(), d.format());

  const Location ev{"timeline.yaml", 4, 9};  // e.g. from a timeline event
  CHECK(apply_override(root, "market.x=2", ev, d));
  CHECK(at(root, "market.x").loc == ev);
  CHECK(at(root, "market.x").key_loc == ev);

  Node v = Node::make_scalar("s", ev, true);
  CHECK(set_path(root, "market.y", v, ev, d));
  CHECK(at(root, "market.y").quoted);
  CHECK(d.empty());

  CHECK(get_path(root, "market.nope") == nullptr);
  CHECK(get_path(root, "firms.9") == nullptr);
  CHECK(get_path(root, "firms.Nobody") == nullptr);
  CHECK(get_path(root, "a..b") == nullptr);
  CHECK(get_path(root, "") == nullptr);
}

TEST_CASE("cfg: override errors") {
  const std::string src =
      "market:\n  lambda0: 0.5\nfirms:\n  - name: OpenAI\n  - name: Twin\n  - name: Twin\n";
  Node root = parse_ok(src);
  const Node original = root;
  const Location set{"--set", 0, 0};
  auto fails = [&](const std::string& assignment, const std::string& expected) {
    Diagnostics d;
    CHECK_FALSE(apply_override(root, assignment, set, d));
    REQUIRE(d.size() == 1);
    CHECK_MESSAGE(contains(d.format(), expected), d.format());
    CHECK(to_yaml(root) == to_yaml(original));  // unchanged
  };
  fails("market.lambda0", "--set market.lambda0: expected 'path=value'; there is no '='");
  fails("=1", "empty path");
  fails("market..lambda0=1", "empty path segment");
  fails("market.=1", "empty path segment");
  fails("firms[=1", "unclosed '['");
  fails("firms.3.budget=1", "--set firms.3.budget=1: firms[3]: index 3 is out of range: 'firms' has 3 elements");
  fails("firms[7]=1", "index 7 is out of range");
  fails("firms.Nobody.budget=1", "firms.Nobody: no element of 'firms' has name 'Nobody'");
  fails("firms.OpenAi.budget=1", "did you mean 'OpenAI'?");
  fails("firms.Twin.budget=1", "name 'Twin' matches 2 elements of 'firms' (indices 1 2)");
  fails("market.lambda0.x=1", "market.lambda0.x: cannot descend into 'market.lambda0': it is a scalar ('0.5')");
  fails("market[0]=1", "'market' is a mapping, not a sequence");
  fails("market.new[0]=1", "'market.new' does not exist");
  fails("market.lambda0=[1, 2", "--set market.lambda0=[1, 2: market.lambda0: invalid value: invalid YAML");

  Diagnostics d;  // located errors (e.g. timeline events) use the given location
  CHECK_FALSE(apply_override(root, "firms.9=1", {"tl.yaml", 3, 5}, d));
  CHECK(contains(d.format(), "tl.yaml:3:5: firms[9]: index 9"));
}

TEST_CASE("cfg: to_yaml round trip") {
  const std::string src =
      "a: 1\n"
      "b: \"quoted\"\n"
      "c: 'true'\n"
      "d:\n  e: [1, 2, {f: x}]\n  g: {}\n  h: []\n  i:\n"
      "j:\n  - - x\n    - y\n  - k: 1\n    l: 2\n"
      "m: \"line1\\nline2\\t\\\"q\\\" \\\\ \\x01\"\n"
      "n: 'a: b # c'\n"
      "o: -5\n"
      "p: ' padded '\n"
      "q: \"\"\n"
      "r: héllo wörld\n"
      "'key with: colon': 1\n"
      "'<<': literal\n"
      "s: \"null\"\n"
      "t: \"-\"\n";
  Node n = parse_ok(src);
  const std::string out = to_yaml(n);
  Node back = parse_ok(out);
  std::function<void(const Node&, const Node&, const std::string&)> same = [&](const Node& x, const Node& y,
                                                                               const std::string& path) {
    INFO(path << "\n" << out);
    REQUIRE(x.kind == y.kind);
    CHECK(x.scalar == y.scalar);
    CHECK(x.quoted == y.quoted);
    REQUIRE(x.map.size() == y.map.size());
    for (std::size_t i = 0; i < x.map.size(); ++i) {
      CHECK(x.map[i].first == y.map[i].first);
      same(x.map[i].second, y.map[i].second, join_path(path, x.map[i].first));
    }
    REQUIRE(x.seq.size() == y.seq.size());
    for (std::size_t i = 0; i < x.seq.size(); ++i) same(x.seq[i], y.seq[i], index_path(path, i));
  };
  same(n, back, "");
  CHECK(to_yaml(back) == out);  // stable
  CHECK(contains(out, "a: 1\n"));
  CHECK(contains(out, "d:\n  e:\n    - 1\n"));
  CHECK(to_yaml(Node{}) == "null\n");
  CHECK(to_yaml(Node::make_scalar("x")) == "x\n");
  CHECK(to_yaml(Node::make_scalar("x: y")) == "\"x: y\"\n");  // unquoted but not plain-safe
}

TEST_CASE("cfg: did_you_mean") {
  const std::vector<std::string> keys = {"lambda0", "growth", "firms", "max_package", "seed"};
  CHECK(did_you_mean("lambda", keys) == "lambda0");
  CHECK(did_you_mean("lamdba0", keys) == "lambda0");  // transposition
  CHECK(did_you_mean("Growth", keys) == "growth");
  CHECK(did_you_mean("max_pakcage", keys) == "max_package");
  CHECK(did_you_mean("sed", keys) == "seed");
  CHECK(did_you_mean("budget", keys) == "");
  CHECK(did_you_mean("xyz", keys) == "");
  CHECK(did_you_mean("anything", {}) == "");
}

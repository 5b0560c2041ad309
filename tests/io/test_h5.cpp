#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "sim/io/h5.hpp"

namespace fs = std::filesystem;
using ts::h5::Error;
using ts::h5::File;
using ts::h5::Group;

namespace {

/// A unique temporary directory, removed with its contents on destruction.
struct TempDir {
  fs::path dir;
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    dir = fs::temp_directory_path() / ("talentsim_h5_" + std::to_string(::getpid()) + "_" +
                                       std::to_string(counter++) + "_" + std::to_string(rd()));
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

template <class T>
void round_trip(Group& g, const std::string& name) {
  const std::vector<T> data{T(0), T(1), T(2), T(100), T(7), T(42)};
  g.write(name, data, {2, 3});
  g.write(name + "_z", data, {3, 2}, 6);
  std::vector<hsize_t> dims;
  CHECK(g.read<T>(name, &dims) == data);
  CHECK(dims == std::vector<hsize_t>{2, 3});
  CHECK(g.read<T>(name + "_z", &dims) == data);
  CHECK(dims == std::vector<hsize_t>{3, 2});
  CHECK(g.read<double>(name) == std::vector<double>{0, 1, 2, 100, 7, 42});  // converted
}

bool shell_ok(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }

}  // namespace

static_assert(!std::is_copy_constructible_v<File> && std::is_nothrow_move_constructible_v<File>);
static_assert(!std::is_copy_constructible_v<Group> && std::is_move_constructible_v<Group>);
static_assert(!std::is_copy_constructible_v<ts::h5::Series<double>> &&
              std::is_move_constructible_v<ts::h5::Series<double>>);

TEST_CASE("h5: numeric round trip for every supported type") {
  TempDir tmp;
  const auto path = tmp.file("num.h5");
  {
    File f = File::create(path);
    Group g = f.root().group("nums");
    round_trip<double>(g, "f64");
    round_trip<float>(g, "f32");
    round_trip<std::int8_t>(g, "i8");
    round_trip<std::uint8_t>(g, "u8");
    round_trip<std::int16_t>(g, "i16");
    round_trip<std::uint16_t>(g, "u16");
    round_trip<std::int32_t>(g, "i32");
    round_trip<std::uint32_t>(g, "u32");
    round_trip<std::int64_t>(g, "i64");
    round_trip<std::uint64_t>(g, "u64");
    // extremes survive
    g.write("i64_ext", std::vector<std::int64_t>{INT64_MIN, INT64_MAX}, {2});
    g.write("u64_ext", std::vector<std::uint64_t>{UINT64_MAX}, {1});
    // scalar and empty datasets
    const double pi = 3.25;
    g.write("scalar", &pi, {});
    g.write("empty", std::vector<double>{}, {0});
    g.write("empty2d", std::vector<std::int32_t>{}, {0, 5}, 4);
    f.close();
    f.close();  // idempotent
  }
  File f = File::open_read(path);
  Group g = f.root().open_group("nums");
  CHECK(g.read<std::int64_t>("i64_ext") == std::vector<std::int64_t>{INT64_MIN, INT64_MAX});
  CHECK(g.read<std::uint64_t>("u64_ext") == std::vector<std::uint64_t>{UINT64_MAX});
  std::vector<hsize_t> dims{9};
  CHECK(g.read<double>("scalar", &dims) == std::vector<double>{3.25});
  CHECK(dims.empty());
  CHECK(g.read<double>("empty", &dims).empty());
  CHECK(dims == std::vector<hsize_t>{0});
  CHECK(g.read<std::int32_t>("empty2d").empty());
  CHECK(g.shape("empty2d") == std::vector<hsize_t>{0, 5});
  CHECK(g.shape("f64") == std::vector<hsize_t>{2, 3});
  CHECK(g.children().size() == 25);
}

TEST_CASE("h5: strings, string lists, groups and attributes") {
  TempDir tmp;
  const auto path = tmp.file("str.h5");
  {
    File f = File::create(path);
    Group root = f.root();
    Group run = root.group("run/meta");  // nested creation
    CHECK(root.exists("run"));
    CHECK(root.exists("run/meta"));
    CHECK_FALSE(root.exists("nope/meta"));
    CHECK(root.group("run/meta").path() == "/run/meta");  // reopens
    run.write_string("note", "h\xc3\xa9llo, world");
    run.write_string("blank", "");
    run.write_strings("names", {"alpha", "", "\xce\xb2\xce\xb7\xcf\x84\xce\xb1", "long name "});
    run.write_strings("none", {});
    run.write("wage", std::vector<double>{1, 2}, {2});
    root.attr("title", "talentsim");
    root.attr("seed", std::int64_t{-1234567890123});
    root.attr("steps", 120);  // int -> int64
    root.attr("rate", 0.25);
    root.attr("labels", std::vector<std::string>{"x", "y", ""});
    root.attr("weights", std::vector<double>{0.5, 1.5});
    root.attr("no_labels", std::vector<std::string>{});
    run.attr("unit", "EUR", "wage");  // on a child dataset
    run.attr("rate", 0.5, "wage");
    run.attr("rate", 0.75, "wage");  // overwrite
    root.attr("kind", "meta", "run/meta");
    f.flush();
  }
  File f = File::open_read(path);
  Group root = f.root();
  Group run = root.open_group("run/meta");
  CHECK(run.read_string("note") == "h\xc3\xa9llo, world");
  CHECK(run.read_string("blank").empty());
  CHECK(run.read_strings("names") ==
        std::vector<std::string>{"alpha", "", "\xce\xb2\xce\xb7\xcf\x84\xce\xb1", "long name "});
  CHECK(run.read_strings("none").empty());
  CHECK(run.children() == std::vector<std::string>{"blank", "names", "none", "note", "wage"});
  CHECK(root.children() == std::vector<std::string>{"run"});
  CHECK(root.attr_string("title") == "talentsim");
  CHECK(root.attr_int("seed") == -1234567890123);
  CHECK(root.attr_int("steps") == 120);
  CHECK(root.attr_double("steps") == 120.0);
  CHECK(root.attr_double("rate") == 0.25);
  CHECK(root.attr_strings("labels") == std::vector<std::string>{"x", "y", ""});
  CHECK(root.attr_strings("title") == std::vector<std::string>{"talentsim"});
  CHECK(root.attr_doubles("weights") == std::vector<double>{0.5, 1.5});
  CHECK(root.attr_strings("no_labels").empty());
  CHECK(run.attr_string("unit", "wage") == "EUR");
  CHECK(run.attr_double("rate", "wage") == 0.75);
  CHECK(root.attr_string("kind", "run/meta") == "meta");
  CHECK(root.has_attr("title"));
  CHECK_FALSE(root.has_attr("missing"));
  CHECK(run.has_attr("unit", "wage"));
  CHECK_FALSE(run.has_attr("unit", "no_such_dataset"));
  CHECK_THROWS_AS(root.attr_int("rate"), Error);        // not an integer
  CHECK_THROWS_AS(root.attr_int("title"), Error);       // not numeric
  CHECK_THROWS_AS(root.attr_string("seed"), Error);     // not a string
  CHECK_THROWS_AS(root.attr_double("weights"), Error);  // not a single value
  CHECK_THROWS_AS(run.read<double>("note"), Error);
}

TEST_CASE("h5: fixed-length strings written by other tools are readable") {
  TempDir tmp;
  const auto path = tmp.file("fixed.h5");
  (void)File::create(path);
  {  // write with the raw C API, as numpy/h5py do for bytes arrays
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(f >= 0);
    const hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 4);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    const hsize_t two = 2;
    const hid_t sp = H5Screate_simple(1, &two, nullptr);
    const hid_t ds = H5Dcreate2(f, "codes", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const char codes[] = {'a', 'b', 'c', 'd', 'x', 0, 0, 0};
    CHECK(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, codes) >= 0);
    H5Tset_strpad(t, H5T_STR_SPACEPAD);
    const hid_t sc = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(f, "pad", t, sc, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(H5Awrite(a, t, "ab  ") >= 0);
    H5Aclose(a);
    H5Sclose(sc);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(f);
  }
  File f = File::open_read(path);
  Group root = f.root();
  CHECK(root.read_strings("codes") == std::vector<std::string>{"abcd", "x"});
  CHECK(root.attr_string("pad") == "ab");
}

TEST_CASE("h5: series append, reopen, truncate") {
  TempDir tmp;
  const auto path = tmp.file("series.h5");
  {
    File f = File::create(path);
    Group g = f.root().group("ts");
    auto s = g.series<double>("wage", {2, 3}, 4);
    CHECK(s.rows() == 0);
    CHECK(s.row_size() == 6);
    std::vector<double> row(6);
    for (std::size_t step = 0; step < 10; ++step) {
      for (std::size_t i = 0; i < 6; ++i) row[i] = static_cast<double>(step * 10 + i);
      s.append(row);
    }
    std::vector<double> two(12);
    for (std::size_t i = 0; i < 12; ++i) two[i] = static_cast<double>(100 + i);
    s.append(two.data(), 2);
    s.append(nullptr, 0);  // no-op
    CHECK(s.rows() == 12);
    CHECK_THROWS_AS(s.append(std::vector<double>(5)), Error);  // not a whole row
    CHECK(s.rows() == 12);

    auto n = g.series<std::int32_t>("count", {}, 64, 5);  // 1-D series
    CHECK(n.row_size() == 1);
    n.append(std::vector<std::int32_t>{1, 2, 3});
    std::int32_t four = 4;
    n.append(&four);

    auto e = g.series<float>("empty", {7});                // stays at 0 rows
    auto big = g.series<double>("firms", {10000}, 64, 1);  // chunk rows capped to 13
    big.append(std::vector<double>(20000, 1.5));
    auto zero = g.series<double>("zero_width", {0});
    zero.append(nullptr, 3);
    CHECK(zero.rows() == 3);

    ts::h5::Series<double> moved = std::move(s);  // move-only
    moved.append(row);
    CHECK(moved.rows() == 13);
  }
  std::vector<hsize_t> dims;
  {
    File f = File::open_read(path);
    Group g = f.root().open_group("ts");
    auto v = g.read<double>("wage", &dims);
    CHECK(dims == std::vector<hsize_t>{13, 2, 3});
    REQUIRE(v.size() == 78);
    CHECK(v[0] == 0);
    CHECK(v[6 * 9 + 5] == 95);
    CHECK(v[6 * 10] == 100);
    CHECK(v[6 * 11 + 5] == 111);
    CHECK(v[6 * 12 + 5] == 95);
    CHECK(g.read<std::int32_t>("count", &dims) == std::vector<std::int32_t>{1, 2, 3, 4});
    CHECK(dims == std::vector<hsize_t>{4});
    CHECK(g.shape("empty") == std::vector<hsize_t>{0, 7});
    CHECK(g.shape("firms") == std::vector<hsize_t>{2, 10000});
    CHECK(g.shape("zero_width") == std::vector<hsize_t>{3, 0});
    CHECK_THROWS_AS(g.open_series<double>("wage").append(std::vector<double>(6)), Error);  // RO
  }
  {
    File f = File::open_rw(path);
    Group g = f.root().open_group("ts");
    auto s = g.open_series<double>("wage");
    CHECK(s.rows() == 13);
    CHECK(s.row_dims() == std::vector<hsize_t>{2, 3});
    s.truncate(10);  // resume from a checkpoint at step 10
    CHECK(s.rows() == 10);
    s.append(std::vector<double>(12, -1.0));
    CHECK(s.rows() == 12);
    auto n = g.open_series<std::int64_t>("count");  // converts on write
    n.append(std::vector<std::int64_t>{5});
    CHECK_THROWS_AS(g.open_series<double>("nope"), Error);
    g.write("fixed", std::vector<double>{1}, {1});
    CHECK_THROWS_AS(g.open_series<double>("fixed"), Error);  // not extendable
  }
  File f = File::open_read(path);
  Group g = f.root().open_group("ts");
  auto v = g.read<double>("wage", &dims);
  CHECK(dims == std::vector<hsize_t>{12, 2, 3});
  CHECK(v[6 * 9 + 5] == 95);
  CHECK(v[6 * 10] == -1.0);
  CHECK(v.back() == -1.0);
  CHECK(g.read<std::int32_t>("count") == std::vector<std::int32_t>{1, 2, 3, 4, 5});
}

TEST_CASE("h5: errors name the operation, object and file") {
  TempDir tmp;
  const auto path = tmp.file("errors.h5");
  {
    File f = File::create(path);
    f.root().write("x", std::vector<double>{1, 2, 3}, {3});
  }
  try {
    (void)File::create(path);
    FAIL("create() on an existing file must throw");
  } catch (const Error& e) {
    // One line with the cause (the operating system's message); HDF5's stack apart.
    const std::string msg = e.what();
    CHECK(msg.find("create file") != std::string::npos);
    CHECK(msg.find(path) != std::string::npos);
    CHECK(msg.find("File exists") != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
    CHECK(e.stack().find("HDF5 error stack") == 0);
    CHECK(e.stack().find("H5Fcreate") != std::string::npos);
  }
  File f = File::open_rw(path);
  Group root = f.root();
  try {
    (void)root.group("grp").read<double>("missing_dataset");
    FAIL("reading a missing dataset must throw");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("/grp/missing_dataset") != std::string::npos);
    CHECK(msg.find("errors.h5") != std::string::npos);
    CHECK(msg.find("open dataset") != std::string::npos);
  }
  CHECK_THROWS_AS(root.write("x", std::vector<double>{1}, {1}), Error);      // exists already
  CHECK_THROWS_AS(root.write("y", std::vector<double>{1, 2}, {3}), Error);   // size mismatch
  CHECK_THROWS_AS(root.write("y", std::vector<double>{1}, {1}, 12), Error);  // bad level
  CHECK_THROWS_AS(root.open_group("x"), Error);   // a dataset, not a group
  CHECK_THROWS_AS(root.read_string("x"), Error);  // not a string
  CHECK_THROWS_AS(root.attr_string("none"), Error);
  CHECK_THROWS_AS(File::open_read(tmp.file("does_not_exist.h5")), Error);
  auto s = root.series<double>("s", {4});
  try {
    s.append(std::vector<double>(6));
    FAIL("row size mismatch must throw");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("/s") != std::string::npos);
  }
  // Strings are stored as UTF-8: text that is not (or holds a NUL) is refused, never written.
  CHECK_THROWS_WITH_AS(root.write_string("bad", "caf\xe9"), doctest::Contains("is not valid UTF-8 (byte 4)"), Error);
  CHECK_THROWS_WITH_AS(root.write_strings("bad", {"ok", std::string("a\0b", 3)}), doctest::Contains("contains a NUL"), Error);
  CHECK_THROWS_AS(root.attr("bad", std::string("\xff")), Error);
  CHECK_FALSE(root.exists("bad"));
  CHECK_FALSE(root.has_attr("bad"));
  root.write_string("good", "caf\xc3\xa9 \xe5\x8c\x97\xe4\xba\xac");  // café 北京
  CHECK(root.read_string("good") == "caf\xc3\xa9 \xe5\x8c\x97\xe4\xba\xac");
  ts::h5::Series<double> empty;
  CHECK_THROWS_AS(empty.append(std::vector<double>(1)), Error);
  f.close();
  CHECK_THROWS_AS(f.root(), Error);
}

TEST_CASE("h5: no identifiers stay open, even after errors") {
  TempDir tmp;
  const auto path = tmp.file("ids.h5");
  const ssize_t base = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);  // other tests' files
  REQUIRE(base >= 0);
  {
    File f = File::create(path);
    Group g = f.root().group("a/b");
    g.write("d", std::vector<double>{1, 2}, {2}, 3);
    g.attr("u", "x", "d");
    g.write_strings("s", {"p", "q"});
    CHECK_THROWS_AS(g.read<double>("missing"), Error);
    CHECK_THROWS_AS(g.read<double>("s"), Error);
    CHECK_THROWS_AS(g.read_string("s"), Error);  // two strings, not one
    CHECK_THROWS_AS(g.attr_int("u", "d"), Error);
    CHECK_THROWS_AS(g.write("d", std::vector<double>{1}, {1}), Error);
    CHECK(g.read_strings("s").size() == 2);
    CHECK(g.attr_strings("u", "d").size() == 1);
    CHECK(g.children().size() == 2);
    auto s = g.series<double>("ser", {3});
    s.append(std::vector<double>{1, 2, 3});
    CHECK_THROWS_AS(s.append(std::vector<double>(2)), Error);
    CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == base + 3);  // file, group a/b, series
  }
  CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == base);
  {
    File f = File::open_read(path);
    CHECK(f.root().exists("a/b/ser"));
    CHECK_THROWS_AS(f.root().open_group("a/b/ser"), Error);
  }
  CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == base);
}

namespace {
/// Writes the file checked by the h5py and h5dump tests.
void write_interop_file(const std::string& path) {
  File f = File::create(path);
  Group root = f.root();
  root.attr("title", "talentsim \xc3\xbc");
  root.attr("labels", std::vector<std::string>{"a", "bb"});
  root.attr("seed", std::int64_t{42});
  Group meta = root.group("meta");
  meta.write_string("note", "h\xc3\xa9llo");
  meta.write_strings("names", {"alpha", "", "gamma"});
  auto s = root.group("ts").series<double>("wage", {2});
  s.append(std::vector<double>{1, 2, 3, 4});
  s.append(std::vector<double>{5, 6});
  auto c = root.group("ts").series<std::int64_t>("count", {});
  c.append(std::vector<std::int64_t>{7, 8, 9});
}
}  // namespace

TEST_CASE("h5: files are readable by h5py") {
  if (!shell_ok("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1")) {
    MESSAGE("skipped: /usr/bin/python3 has no h5py");
    return;
  }
  TempDir tmp;
  const auto path = tmp.file("interop.h5");
  write_interop_file(path);
  const std::string script =
      "import sys, h5py\n"
      "f = h5py.File(sys.argv[1], 'r')\n"
      "t = f.attrs['title']\n"
      "assert t == 'talentsim \\u00fc', repr(t)\n"
      "assert list(f.attrs['labels']) == ['a', 'bb'], repr(f.attrs['labels'])\n"
      "assert int(f.attrs['seed']) == 42\n"
      "n = f['meta/note']\n"
      "assert n[()] == 'h\\u00e9llo'.encode(), repr(n[()])\n"
      "assert n.asstr()[()] == 'h\\u00e9llo'\n"
      "assert list(f['meta/names'].asstr()[()]) == ['alpha', '', 'gamma']\n"
      "w = f['ts/wage']\n"
      "assert w.shape == (3, 2) and w.maxshape == (None, 2), (w.shape, w.maxshape)\n"
      "assert w[()].tolist() == [[1, 2], [3, 4], [5, 6]], w[()]\n"
      "c = f['ts/count']\n"
      "assert c.shape == (3,) and c.maxshape == (None,) and c[()].tolist() == [7, 8, 9]\n";
  const std::string cmd = "/usr/bin/python3 -c \"" + script + "\" '" + path + "'";
  CHECK(shell_ok(cmd));
}

TEST_CASE("h5: files are readable by h5dump") {
  if (!shell_ok("command -v h5dump >/dev/null 2>&1")) {
    MESSAGE("skipped: h5dump not found");
    return;
  }
  TempDir tmp;
  const auto path = tmp.file("dump.h5");
  write_interop_file(path);
  CHECK(shell_ok("h5dump -H '" + path + "' >/dev/null 2>&1"));
  CHECK(shell_ok("h5dump '" + path + "' >/dev/null 2>&1"));
}

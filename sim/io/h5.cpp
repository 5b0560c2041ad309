#include "sim/io/h5.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "sim/config/diagnostics.hpp"

namespace ts::h5 {
namespace {

using detail::Hid;

constexpr hsize_t kMaxChunkBytes = hsize_t{1} << 18;             // cap for chunk sizes (256 KiB)
constexpr std::size_t kSeriesCacheBytes = std::size_t{5} << 17;  // per-series chunk cache (640 KiB: 2.5 chunks)

/// Where an operation happened, for error messages (views only: no allocation on success).
struct Where {
  Where(std::string_view f, std::string_view b, std::string_view n = {}, std::string_view a = {})
      : file(f), base(b), name(n), attr(a) {}
  std::string_view file;
  std::string_view base;  // group path, or the full object path when `name` is empty
  std::string_view name;  // object name relative to `base` (may be empty)
  std::string_view attr;  // attribute name (may be empty)
};

std::string join(std::string_view base, std::string_view name) {
  if (name.empty()) return std::string(base);
  if (name.front() == '/') return std::string(name);
  std::string out(base);
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

/// Disables HDF5's automatic error printing (once per thread; errors are reported by throwing).
void init_library() {
  thread_local bool done = false;
  if (done) return;
  if (H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) < 0) throw Error("h5: H5Eset_auto2 failed");
  done = true;
}

struct StackEntry {
  std::string func, desc, maj, min;
};

herr_t walk_cb(unsigned, const H5E_error2_t* e, void* data) noexcept {
  try {
    char maj[128] = "", min[128] = "";
    if (H5Eget_msg(e->maj_num, nullptr, maj, sizeof maj) < 0) maj[0] = '\0';
    if (H5Eget_msg(e->min_num, nullptr, min, sizeof min) < 0) min[0] = '\0';
    static_cast<std::vector<StackEntry>*>(data)->push_back(
        {e->func_name ? e->func_name : "?", e->desc ? e->desc : "", maj, min});
    return 0;
  } catch (...) {
    return -1;
  }
}

/// The cause, from the deepest entry that has one: the operating system's message
/// ("error message = 'No space left on device'"), else the deepest description.
std::string cause_of(const std::vector<StackEntry>& stack) {
  static constexpr std::string_view kMsg = "error message = '";
  for (auto it = stack.rbegin(); it != stack.rend(); ++it)
    if (const auto b = it->desc.find(kMsg); b != std::string::npos) {
      const auto e = it->desc.find('\'', b + kMsg.size());
      if (e != std::string::npos) return it->desc.substr(b + kMsg.size(), e - b - kMsg.size());
    }
  for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
    std::string d = it->desc.substr(0, it->desc.find('\n'));
    if (!d.empty()) return d;
  }
  return {};
}

/// Builds the error and, when `stack`, takes (and clears) the HDF5 error stack: its cause
/// goes into the one-line message, the whole stack into Error::stack().
Error make_error(std::string_view op, const Where& w, std::string_view detail, bool stack) {
  std::string msg = "h5: " + std::string(op) + " failed for ";
  if (!w.attr.empty()) msg += "attribute '" + std::string(w.attr) + "' of ";
  msg += "'" + join(w.base, w.name) + "' in file '" + std::string(w.file) + "'";
  if (!detail.empty()) msg += ": " + std::string(detail);
  std::string text;
  if (stack) {
    std::vector<StackEntry> entries;
    if (H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &entries) < 0) text += "\n  (unreadable)";
    (void)H5Eclear2(H5E_DEFAULT);  // nothing useful to do if clearing fails
    for (std::size_t n = 0; n < entries.size(); ++n) {
      const auto& e = entries[n];
      text += "\n  #" + std::to_string(n) + " " + e.func + "(): " + e.desc + " [" + e.maj + " / " + e.min + "]";
    }
    if (!text.empty()) text = "HDF5 error stack:" + text;
    if (const std::string cause = cause_of(entries); !cause.empty() && detail.empty()) msg += ": " + cause;
  }
  return Error(msg, text);
}

[[noreturn]] void fail(std::string_view op, const Where& w, std::string_view detail = {},
                       bool stack = true) {
  throw make_error(op, w, detail, stack);
}
/// Throws for a misuse detected by the wrapper itself (no HDF5 stack).
[[noreturn]] void misuse(std::string_view op, const Where& w, std::string_view detail) {
  fail(op, w, detail, false);
}

template <class R>
R check(R status, std::string_view op, const Where& w) {
  if (status < 0) fail(op, w);
  return status;
}

Hid own(hid_t id, Hid::Closer closer, std::string_view op, const Where& w) {
  if (id < 0) fail(op, w);
  return Hid(id, closer);
}

void close_checked(Hid& h, std::string_view op, const Where& w) {
  if (h.close() < 0) fail(op, w);
}

// ---- types ----
template <class T>
struct Type;
#define TS_H5_TYPE(T, MEM, FILE)         \
  template <>                            \
  struct Type<T> {                       \
    static hid_t mem() { return MEM; }   \
    static hid_t file() { return FILE; } \
  };
TS_H5_TYPE(double, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE)
TS_H5_TYPE(float, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE)
TS_H5_TYPE(std::int8_t, H5T_NATIVE_INT8, H5T_STD_I8LE)
TS_H5_TYPE(std::uint8_t, H5T_NATIVE_UINT8, H5T_STD_U8LE)
TS_H5_TYPE(std::int16_t, H5T_NATIVE_INT16, H5T_STD_I16LE)
TS_H5_TYPE(std::uint16_t, H5T_NATIVE_UINT16, H5T_STD_U16LE)
TS_H5_TYPE(std::int32_t, H5T_NATIVE_INT32, H5T_STD_I32LE)
TS_H5_TYPE(std::uint32_t, H5T_NATIVE_UINT32, H5T_STD_U32LE)
TS_H5_TYPE(std::int64_t, H5T_NATIVE_INT64, H5T_STD_I64LE)
TS_H5_TYPE(std::uint64_t, H5T_NATIVE_UINT64, H5T_STD_U64LE)
#undef TS_H5_TYPE

/// Refuses text that is not valid UTF-8 (or holds a NUL, which would cut it short): it would
/// be stored as UTF-8 and break every reader.
void check_text(const std::string& text, const Where& w) {
  std::size_t bad = 0;
  if (!cfg::valid_utf8(text, &bad))
    misuse("write string", w, "the text " + cfg::quoted(text) + " is not valid UTF-8 (byte " + std::to_string(bad + 1) + ")");
  if (text.find('\0') != std::string::npos) misuse("write string", w, "the text " + cfg::quoted(text) + " contains a NUL");
}
void check_texts(const std::vector<std::string>& texts, const Where& w) {
  for (const auto& t : texts) check_text(t, w);
}

/// Variable-length UTF-8 string type (what h5py writes for `str`).
Hid string_type(const Where& w) {
  Hid t = own(H5Tcopy(H5T_C_S1), H5Tclose, "copy string type", w);
  check(H5Tset_size(t.get(), H5T_VARIABLE), "set string size", w);
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), "set string charset", w);
  return t;
}

hsize_t product(const std::vector<hsize_t>& dims, std::size_t from = 0) {
  hsize_t n = 1;
  for (std::size_t i = from; i < dims.size(); ++i) n *= dims[i];
  return n;
}

/// Scalar dataspace for null/empty `dims`, else a simple one.
Hid make_space(const std::vector<hsize_t>* dims, const Where& w,
               const std::vector<hsize_t>* maxdims = nullptr) {
  if (!dims || dims->empty()) return own(H5Screate(H5S_SCALAR), H5Sclose, "create dataspace", w);
  return own(H5Screate_simple(static_cast<int>(dims->size()), dims->data(),
                              maxdims ? maxdims->data() : nullptr),
             H5Sclose, "create dataspace", w);
}

/// Link creation properties: create missing parent groups, UTF-8 names.
Hid link_props(const Where& w) {
  Hid p = own(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "create link properties", w);
  check(H5Pset_create_intermediate_group(p.get(), 1), "set intermediate group creation", w);
  check(H5Pset_char_encoding(p.get(), H5T_CSET_UTF8), "set link name encoding", w);
  return p;
}

/// Dataset creation properties: chunked {chunk} (capped at ~1 MiB) with optional shuffle+gzip.
Hid chunked_props(std::vector<hsize_t> chunk, std::size_t elem, int deflate, const Where& w) {
  for (auto& c : chunk) c = std::max<hsize_t>(c, 1);
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    const hsize_t rest = product(chunk, i + 1) * elem;
    if (chunk[i] * rest <= kMaxChunkBytes) continue;
    chunk[i] = std::max<hsize_t>(1, kMaxChunkBytes / std::max<hsize_t>(rest, 1));
  }
  Hid p = own(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "create dataset properties", w);
  check(H5Pset_chunk(p.get(), static_cast<int>(chunk.size()), chunk.data()), "set chunking", w);
  if (deflate > 0) {
    check(H5Pset_shuffle(p.get()), "set shuffle filter", w);
    check(H5Pset_deflate(p.get(), static_cast<unsigned>(deflate)), "set deflate filter", w);
  }
  return p;
}

void check_deflate(int deflate, const Where& w) {
  if (deflate < 0 || deflate > 9) misuse("create dataset", w, "deflate level must be 0..9");
}

std::vector<hsize_t> extent(hid_t space, const Where& w) {
  const int rank = check(H5Sget_simple_extent_ndims(space), "get rank", w);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  check(H5Sget_simple_extent_dims(space, dims.data(), nullptr), "get shape", w);
  return dims;
}

void create_and_write(hid_t loc, const Where& w, const std::string& name, hid_t file_type,
                      hid_t mem_type, const std::vector<hsize_t>* dims, const void* data,
                      hid_t dcpl = H5P_DEFAULT) {
  Hid space = make_space(dims, w);
  Hid lcpl = link_props(w);
  Hid ds = own(H5Dcreate2(loc, name.c_str(), file_type, space.get(), lcpl.get(), dcpl, H5P_DEFAULT),
               H5Dclose, "create dataset", w);
  if (!dims || product(*dims) > 0)
    check(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "write dataset", w);
  close_checked(ds, "close dataset", w);
}

const char* obj_name(const std::string& object) { return object.empty() ? "." : object.c_str(); }

void put_attr(hid_t loc, const Where& w, const std::string& name, const std::string& object,
              hid_t file_type, hid_t mem_type, const std::vector<hsize_t>* dims, const void* data) {
  const char* obj = obj_name(object);
  if (check(H5Aexists_by_name(loc, obj, name.c_str(), H5P_DEFAULT), "check attribute", w) > 0)
    check(H5Adelete_by_name(loc, obj, name.c_str(), H5P_DEFAULT), "delete attribute", w);
  Hid space = make_space(dims, w);
  Hid a = own(H5Acreate_by_name(loc, obj, name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose, "create attribute", w);
  if (!dims || product(*dims) > 0) check(H5Awrite(a.get(), mem_type, data), "write attribute", w);
  close_checked(a, "close attribute", w);
}

Hid open_attr(hid_t loc, const Where& w, const std::string& name, const std::string& object) {
  return own(H5Aopen_by_name(loc, obj_name(object), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
             H5Aclose, "open attribute", w);
}

std::vector<const char*> c_strs(const std::vector<std::string>& texts) {
  std::vector<const char*> ptrs(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) ptrs[i] = texts[i].c_str();
  return ptrs;
}

/// Reads all elements of a numeric dataset or attribute, converting to T.
template <class T>
std::vector<T> read_numeric(hid_t obj, bool is_attr, const Where& w, std::vector<hsize_t>* dims,
                            bool int_only) {
  const char* op = is_attr ? "read attribute" : "read dataset";
  Hid type = own(is_attr ? H5Aget_type(obj) : H5Dget_type(obj), H5Tclose, "get datatype", w);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls == H5T_NO_CLASS) fail("get type class", w);
  if (cls != H5T_INTEGER && (int_only || cls != H5T_FLOAT))
    misuse(op, w, int_only ? "stored type is not an integer" : "stored type is not numeric");
  Hid space = own(is_attr ? H5Aget_space(obj) : H5Dget_space(obj), H5Sclose, "get dataspace", w);
  const hssize_t n = check(H5Sget_simple_extent_npoints(space.get()), "get size", w);
  std::vector<T> out(static_cast<std::size_t>(n));
  if (n > 0)
    check(is_attr ? H5Aread(obj, Type<T>::mem(), out.data())
                  : H5Dread(obj, Type<T>::mem(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
          op, w);
  if (dims) *dims = extent(space.get(), w);
  return out;
}

/// Reads all elements of a (variable- or fixed-length) string dataset or attribute.
std::vector<std::string> read_text(hid_t obj, bool is_attr, const Where& w) {
  const char* op = is_attr ? "read attribute" : "read dataset";
  Hid type = own(is_attr ? H5Aget_type(obj) : H5Dget_type(obj), H5Tclose, "get datatype", w);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls == H5T_NO_CLASS) fail("get type class", w);
  if (cls != H5T_STRING) misuse(op, w, "stored type is not a string");
  Hid space = own(is_attr ? H5Aget_space(obj) : H5Dget_space(obj), H5Sclose, "get dataspace", w);
  const auto n =
      static_cast<std::size_t>(check(H5Sget_simple_extent_npoints(space.get()), "get size", w));
  std::vector<std::string> out;
  out.reserve(n);
  if (n == 0) return out;
  // The stored type doubles as memory type: HDF5 cannot convert between ASCII and UTF-8.
  auto do_read = [&](void* buf) {
    check(is_attr ? H5Aread(obj, type.get(), buf)
                  : H5Dread(obj, type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf),
          op, w);
  };
  if (check(H5Tis_variable_str(type.get()), "check string type", w) > 0) {
    std::vector<char*> ptrs(n, nullptr);
    do_read(ptrs.data());
    struct Reclaim {  // frees HDF5-allocated strings even if copying throws
      hid_t type, space;
      void* buf;
      bool armed = true;
      herr_t release() {
        armed = false;
#if H5_VERSION_GE(1, 12, 0)
        return H5Treclaim(type, space, H5P_DEFAULT, buf);
#else
        return H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf);
#endif
      }
      ~Reclaim() {
        if (armed) (void)release();
      }
    } guard{type.get(), space.get(), ptrs.data()};
    for (const char* p : ptrs) out.emplace_back(p ? p : "");
    check(guard.release(), "reclaim strings", w);
  } else {
    const std::size_t size = H5Tget_size(type.get());
    const H5T_str_t pad = H5Tget_strpad(type.get());
    if (size == 0 || pad == H5T_STR_ERROR) fail("get string size", w);
    std::vector<char> buf(size * n);
    do_read(buf.data());
    for (std::size_t i = 0; i < n; ++i) {
      const char* p = buf.data() + i * size;
      std::size_t len = strnlen(p, size);
      while (pad == H5T_STR_SPACEPAD && len > 0 && p[len - 1] == ' ') --len;
      out.emplace_back(p, len);
    }
  }
  return out;
}

std::string single(std::vector<std::string> v, std::string_view op, const Where& w) {
  if (v.size() != 1) misuse(op, w, "expected a single string");
  return std::move(v[0]);
}

herr_t collect_cb(hid_t, const char* name, const H5L_info_t*, void* data) noexcept {
  try {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  } catch (...) {
    return -1;
  }
}

}  // namespace

// ---- File ----

File File::create(const std::string& path) {
  init_library();
  const Where w{path, "/"};
  return File(own(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT), H5Fclose,
                  "create file", w),
              path);
}

File File::open_read(const std::string& path) {
  init_library();
  const Where w{path, "/"};
  return File(own(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "open file", w),
              path);
}

File File::open_rw(const std::string& path) {
  init_library();
  const Where w{path, "/"};
  return File(own(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, "open file", w),
              path);
}

Group File::root() {
  const Where w{path_, "/"};
  return Group(own(H5Gopen2(id_.get(), "/", H5P_DEFAULT), H5Gclose, "open root group", w), path_,
               "/", deflate_);
}

void File::set_deflate(int level) {
  check_deflate(level, {path_, "/"});
  deflate_ = level;
}

void File::flush() { check(H5Fflush(id_.get(), H5F_SCOPE_GLOBAL), "flush file", {path_, "/"}); }

void File::close() {
  if (id_.valid()) close_checked(id_, "close file", {path_, "/"});
}

// ---- Group: structure ----

Group Group::group(const std::string& name) {
  if (exists(name)) return open_group(name);
  const Where w{file_, path_, name, {}};
  Hid lcpl = link_props(w);
  Hid g = own(H5Gcreate2(id_.get(), name.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
              "create group", w);
  return Group(std::move(g), file_, join(path_, name), deflate_);
}

Group Group::open_group(const std::string& name) const {
  const Where w{file_, path_, name, {}};
  Hid g = own(H5Gopen2(id_.get(), name.c_str(), H5P_DEFAULT), H5Gclose, "open group", w);
  return Group(std::move(g), file_, join(path_, name), deflate_);
}

bool Group::exists(const std::string& name) const {
  const Where w{file_, path_, name, {}};
  if (name.empty()) return false;
  // Check each prefix of a nested path: a missing parent means false, not an error.
  for (std::size_t pos = name.find('/', 1);; pos = name.find('/', pos + 1)) {
    const std::string prefix = name.substr(0, pos);
    if (check(H5Lexists(id_.get(), prefix.c_str(), H5P_DEFAULT), "check link", w) <= 0)
      return false;
    if (pos == std::string::npos || pos + 1 == name.size()) return true;
    Hid obj = own(H5Oopen(id_.get(), prefix.c_str(), H5P_DEFAULT), H5Oclose, "open object", w);
    const H5I_type_t kind = H5Iget_type(obj.get());
    if (kind == H5I_BADID) fail("get object type", w);
    if (kind != H5I_GROUP) return false;
  }
}

void Group::remove(const std::string& name) {
  if (!exists(name)) return;
  check(H5Ldelete(id_.get(), name.c_str(), H5P_DEFAULT), "remove link", Where{file_, path_, name, {}});
}

std::vector<std::string> Group::children() const {
  std::vector<std::string> names;
  hsize_t idx = 0;
  check(H5Literate(id_.get(), H5_INDEX_NAME, H5_ITER_NATIVE, &idx, collect_cb, &names),
        "list group", {file_, path_});
  std::sort(names.begin(), names.end());
  return names;
}

// ---- Group: attributes ----

void Group::attr(const std::string& name, const std::string& value, const std::string& object) {
  const Where w{file_, path_, object, name};
  check_text(value, w);
  Hid type = string_type(w);
  const char* p = value.c_str();
  put_attr(id_.get(), w, name, object, type.get(), type.get(), nullptr, &p);
}

void Group::attr(const std::string& name, std::int64_t value, const std::string& object) {
  put_attr(id_.get(), {file_, path_, object, name}, name, object, H5T_STD_I64LE, H5T_NATIVE_INT64,
           nullptr, &value);
}

void Group::attr(const std::string& name, double value, const std::string& object) {
  put_attr(id_.get(), {file_, path_, object, name}, name, object, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
           nullptr, &value);
}

void Group::attr(const std::string& name, const std::vector<std::string>& values,
                 const std::string& object) {
  const Where w{file_, path_, object, name};
  check_texts(values, w);
  Hid type = string_type(w);
  const std::vector<const char*> ptrs = c_strs(values);
  const std::vector<hsize_t> dims{values.size()};
  put_attr(id_.get(), w, name, object, type.get(), type.get(), &dims, ptrs.data());
}

void Group::attr(const std::string& name, const std::vector<double>& values,
                 const std::string& object) {
  const std::vector<hsize_t> dims{values.size()};
  put_attr(id_.get(), {file_, path_, object, name}, name, object, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
           &dims, values.data());
}

std::string Group::attr_string(const std::string& name, const std::string& object) const {
  const Where w{file_, path_, object, name};
  Hid a = open_attr(id_.get(), w, name, object);
  return single(read_text(a.get(), true, w), "read attribute", w);
}

std::int64_t Group::attr_int(const std::string& name, const std::string& object) const {
  const Where w{file_, path_, object, name};
  Hid a = open_attr(id_.get(), w, name, object);
  const auto v = read_numeric<std::int64_t>(a.get(), true, w, nullptr, true);
  if (v.size() != 1) misuse("read attribute", w, "expected a single value");
  return v[0];
}

double Group::attr_double(const std::string& name, const std::string& object) const {
  const Where w{file_, path_, object, name};
  Hid a = open_attr(id_.get(), w, name, object);
  const auto v = read_numeric<double>(a.get(), true, w, nullptr, false);
  if (v.size() != 1) misuse("read attribute", w, "expected a single value");
  return v[0];
}

std::vector<std::string> Group::attr_strings(const std::string& name,
                                             const std::string& object) const {
  const Where w{file_, path_, object, name};
  Hid a = open_attr(id_.get(), w, name, object);
  return read_text(a.get(), true, w);
}

std::vector<double> Group::attr_doubles(const std::string& name, const std::string& object) const {
  const Where w{file_, path_, object, name};
  Hid a = open_attr(id_.get(), w, name, object);
  return read_numeric<double>(a.get(), true, w, nullptr, false);
}

bool Group::has_attr(const std::string& name, const std::string& object) const {
  if (!object.empty() && !exists(object)) return false;
  return check(H5Aexists_by_name(id_.get(), obj_name(object), name.c_str(), H5P_DEFAULT),
               "check attribute", {file_, path_, object, name}) > 0;
}

// ---- Group: datasets ----

template <Numeric T>
void Group::write(const std::string& name, const T* data, const std::vector<hsize_t>& dims,
                  int deflate) {
  const Where w{file_, path_, name, {}};
  deflate = level(deflate);
  check_deflate(deflate, w);
  const hsize_t n = product(dims);
  if (n > 0 && !data) misuse("write dataset", w, "null data");
  Hid dcpl =
      deflate > 0 && n > 0 && !dims.empty() ? chunked_props(dims, sizeof(T), deflate, w) : Hid();
  create_and_write(id_.get(), w, name, Type<T>::file(), Type<T>::mem(), &dims, data,
                   dcpl.valid() ? dcpl.get() : H5P_DEFAULT);
}

template <Numeric T>
void Group::write(const std::string& name, const std::vector<T>& data,
                  const std::vector<hsize_t>& dims, int deflate) {
  if (data.size() != product(dims))
    misuse("write dataset", {file_, path_, name, {}},
           "data size " + std::to_string(data.size()) + " does not match dims (" +
               std::to_string(product(dims)) + " values)");
  write(name, data.data(), dims, deflate);
}

void Group::write_string(const std::string& name, const std::string& text) {
  const Where w{file_, path_, name, {}};
  check_text(text, w);
  Hid type = string_type(w);
  const char* p = text.c_str();
  create_and_write(id_.get(), w, name, type.get(), type.get(), nullptr, &p);
}

void Group::write_strings(const std::string& name, const std::vector<std::string>& texts) {
  write_strings(name, texts, {texts.size()});
}

void Group::write_strings(const std::string& name, const std::vector<std::string>& texts,
                          const std::vector<hsize_t>& dims) {
  const Where w{file_, path_, name, {}};
  check_texts(texts, w);
  if (dims.empty() || product(dims) != texts.size())
    misuse("write dataset", w, std::to_string(texts.size()) + " strings do not fill the given shape");
  Hid type = string_type(w);
  const std::vector<const char*> ptrs = c_strs(texts);
  create_and_write(id_.get(), w, name, type.get(), type.get(), &dims, ptrs.data());
}

template <Numeric T>
std::vector<T> Group::read(const std::string& name, std::vector<hsize_t>* dims) const {
  const Where w{file_, path_, name, {}};
  Hid ds = own(H5Dopen2(id_.get(), name.c_str(), H5P_DEFAULT), H5Dclose, "open dataset", w);
  return read_numeric<T>(ds.get(), false, w, dims, false);
}

std::string Group::read_string(const std::string& name) const {
  const Where w{file_, path_, name, {}};
  Hid ds = own(H5Dopen2(id_.get(), name.c_str(), H5P_DEFAULT), H5Dclose, "open dataset", w);
  return single(read_text(ds.get(), false, w), "read dataset", w);
}

std::vector<std::string> Group::read_strings(const std::string& name) const {
  const Where w{file_, path_, name, {}};
  Hid ds = own(H5Dopen2(id_.get(), name.c_str(), H5P_DEFAULT), H5Dclose, "open dataset", w);
  return read_text(ds.get(), false, w);
}

std::vector<hsize_t> Group::shape(const std::string& name) const {
  const Where w{file_, path_, name, {}};
  Hid ds = own(H5Dopen2(id_.get(), name.c_str(), H5P_DEFAULT), H5Dclose, "open dataset", w);
  Hid space = own(H5Dget_space(ds.get()), H5Sclose, "get dataspace", w);
  return extent(space.get(), w);
}

template <Numeric T>
void Group::write_rows(const std::string& name, hsize_t first_row, const T* data, hsize_t n_rows) {
  const Where w{file_, path_, name, {}};
  if (n_rows == 0) return;
  if (!data) misuse("write rows", w, "null data");
  Hid ds = own(H5Dopen2(id_.get(), name.c_str(), H5P_DEFAULT), H5Dclose, "open dataset", w);
  Hid fspace = own(H5Dget_space(ds.get()), H5Sclose, "get dataspace", w);
  const std::vector<hsize_t> dims = extent(fspace.get(), w);
  if (dims.empty()) misuse("write rows", w, "dataset is scalar");
  if (first_row + n_rows > dims[0])
    misuse("write rows", w,
           "rows " + std::to_string(first_row) + ".." + std::to_string(first_row + n_rows - 1) +
               " outside the dataset's " + std::to_string(dims[0]) + " rows");
  std::vector<hsize_t> start{first_row}, count{n_rows};
  start.resize(dims.size(), 0);
  count.insert(count.end(), dims.begin() + 1, dims.end());
  const hsize_t total = product(count);
  if (total == 0) return;
  check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
        "select rows", w);
  Hid mspace = own(H5Screate_simple(1, &total, nullptr), H5Sclose, "create dataspace", w);
  check(H5Dwrite(ds.get(), Type<T>::mem(), mspace.get(), fspace.get(), H5P_DEFAULT, data), "write rows", w);
  close_checked(ds, "close dataset", w);
}

void Group::write_strings_at(const std::string& name, hsize_t first, const std::vector<std::string>& texts) {
  const Where w{file_, path_, name, {}};
  if (texts.empty()) return;
  Hid ds = own(H5Dopen2(id_.get(), name.c_str(), H5P_DEFAULT), H5Dclose, "open dataset", w);
  Hid fspace = own(H5Dget_space(ds.get()), H5Sclose, "get dataspace", w);
  const std::vector<hsize_t> dims = extent(fspace.get(), w);
  const hsize_t n = texts.size();
  if (dims.size() != 1) misuse("write strings", w, "not a 1-D dataset");
  if (first + n > dims.front())
    misuse("write strings", w,
           "elements " + std::to_string(first) + ".." + std::to_string(first + n - 1) + " outside the dataset's " +
               std::to_string(dims.front()) + " elements");
  Hid type = string_type(w);
  check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &first, nullptr, &n, nullptr), "select elements", w);
  Hid mspace = own(H5Screate_simple(1, &n, nullptr), H5Sclose, "create dataspace", w);
  const std::vector<const char*> ptrs = c_strs(texts);
  check(H5Dwrite(ds.get(), type.get(), mspace.get(), fspace.get(), H5P_DEFAULT, ptrs.data()), "write strings", w);
  close_checked(ds, "close dataset", w);
}

// ---- Series ----

namespace {
Hid series_access(const Where& w) {
  Hid p = own(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose, "create dataset access properties", w);
  check(H5Pset_chunk_cache(p.get(), H5D_CHUNK_CACHE_NSLOTS_DEFAULT, kSeriesCacheBytes,
                           H5D_CHUNK_CACHE_W0_DEFAULT),
        "set chunk cache", w);
  return p;
}
}  // namespace

template <Numeric T>
Series<T> Group::series(const std::string& name, const std::vector<hsize_t>& row_dims,
                        hsize_t chunk_rows, int deflate) {
  const Where w{file_, path_, name, {}};
  deflate = level(deflate);
  check_deflate(deflate, w);
  std::vector<hsize_t> dims{0};
  dims.insert(dims.end(), row_dims.begin(), row_dims.end());
  std::vector<hsize_t> maxdims = dims;
  for (auto& m : maxdims)
    if (m == 0) m = H5S_UNLIMITED;  // rows, and empty row dimensions (chunks must be non-empty)
  std::vector<hsize_t> chunk = dims;
  chunk[0] = chunk_rows;
  Hid space = make_space(&dims, w, &maxdims);
  Hid dcpl = chunked_props(std::move(chunk), sizeof(T), deflate, w);
  Hid dapl = series_access(w);
  Hid lcpl = link_props(w);
  Hid ds = own(H5Dcreate2(id_.get(), name.c_str(), Type<T>::file(), space.get(), lcpl.get(),
                          dcpl.get(), dapl.get()),
               H5Dclose, "create series", w);
  return Series<T>(std::move(ds), file_, join(path_, name), std::move(dims));
}

template <Numeric T>
Series<T> Group::open_series(const std::string& name) {
  const Where w{file_, path_, name, {}};
  Hid dapl = series_access(w);
  Hid ds = own(H5Dopen2(id_.get(), name.c_str(), dapl.get()), H5Dclose, "open series", w);
  Hid space = own(H5Dget_space(ds.get()), H5Sclose, "get dataspace", w);
  const int rank = check(H5Sget_simple_extent_ndims(space.get()), "get rank", w);
  if (rank < 1) misuse("open series", w, "dataset is scalar");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), maxdims(dims.size());
  check(H5Sget_simple_extent_dims(space.get(), dims.data(), maxdims.data()), "get shape", w);
  if (maxdims[0] != H5S_UNLIMITED) misuse("open series", w, "first dimension is not unlimited");
  Hid type = own(H5Dget_type(ds.get()), H5Tclose, "get datatype", w);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls == H5T_NO_CLASS) fail("get type class", w);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    misuse("open series", w, "stored type is not numeric");
  return Series<T>(std::move(ds), file_, join(path_, name), std::move(dims));
}

template <Numeric T>
Series<T>::Series(detail::Hid ds, std::string file, std::string path, std::vector<hsize_t> dims)
    : ds_(std::move(ds)),
      file_(std::move(file)),
      path_(std::move(path)),
      dims_(std::move(dims)),
      start_(dims_.size(), 0),
      count_(dims_),
      row_size_(product(dims_, 1)) {}

template <Numeric T>
void Series<T>::set_rows(hsize_t n_rows, const char* op) {
  const Where w{file_, path_};
  if (!ds_.valid()) misuse(op, w, "series is not open");
  const hsize_t old = dims_[0];
  dims_[0] = n_rows;
  if (H5Dset_extent(ds_.get(), dims_.data()) < 0) {
    dims_[0] = old;
    fail(op, w);
  }
}

template <Numeric T>
void Series<T>::append(const T* rows, hsize_t n_rows) {
  const Where w{file_, path_};
  if (n_rows == 0) return;
  if (!rows && row_size_ > 0) misuse("append to series", w, "null data");
  const hsize_t old = this->rows();
  set_rows(old + n_rows, "extend series");
  struct Rollback {  // restores the row count if writing fails
    Series* s;
    hsize_t old_rows;
    bool armed = true;
    ~Rollback() {
      if (!armed) return;
      s->dims_[0] = old_rows;
      (void)H5Dset_extent(s->ds_.get(), s->dims_.data());  // best effort, already throwing
    }
  } rollback{this, old};
  if (row_size_ > 0) {
    Hid fspace = own(H5Dget_space(ds_.get()), H5Sclose, "get series dataspace", w);
    start_[0] = old;
    count_[0] = n_rows;
    check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start_.data(), nullptr, count_.data(),
                              nullptr),
          "select rows", w);
    const hsize_t total = n_rows * row_size_;
    Hid mspace = own(H5Screate_simple(1, &total, nullptr), H5Sclose, "create dataspace", w);
    check(H5Dwrite(ds_.get(), Type<T>::mem(), mspace.get(), fspace.get(), H5P_DEFAULT, rows),
          "append to series", w);
  }
  rollback.armed = false;
}

template <Numeric T>
void Series<T>::append(const std::vector<T>& rows) {
  if (rows.empty()) return;
  if (row_size_ == 0 || rows.size() % row_size_ != 0)
    misuse("append to series", {file_, path_},
           std::to_string(rows.size()) + " values is not a whole number of rows of " +
               std::to_string(row_size_));
  append(rows.data(), rows.size() / row_size_);
}

template <Numeric T>
void Series<T>::truncate(hsize_t n_rows) {
  set_rows(n_rows, "truncate series");
}

#define TS_H5_INSTANTIATE(T)                                                                     \
  template class Series<T>;                                                                      \
  template void Group::write<T>(const std::string&, const T*, const std::vector<hsize_t>&, int); \
  template void Group::write<T>(const std::string&, const std::vector<T>&,                       \
                                const std::vector<hsize_t>&, int);                               \
  template std::vector<T> Group::read<T>(const std::string&, std::vector<hsize_t>*) const;       \
  template void Group::write_rows<T>(const std::string&, hsize_t, const T*, hsize_t);            \
  template Series<T> Group::series<T>(const std::string&, const std::vector<hsize_t>&, hsize_t,  \
                                      int);                                                      \
  template Series<T> Group::open_series<T>(const std::string&);
TS_H5_INSTANTIATE(double)
TS_H5_INSTANTIATE(float)
TS_H5_INSTANTIATE(std::int8_t)
TS_H5_INSTANTIATE(std::uint8_t)
TS_H5_INSTANTIATE(std::int16_t)
TS_H5_INSTANTIATE(std::uint16_t)
TS_H5_INSTANTIATE(std::int32_t)
TS_H5_INSTANTIATE(std::uint32_t)
TS_H5_INSTANTIATE(std::int64_t)
TS_H5_INSTANTIATE(std::uint64_t)
#undef TS_H5_INSTANTIATE

}  // namespace ts::h5

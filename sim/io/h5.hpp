// Small, safe C++ wrapper over the HDF5 C API used for all simulation output.
//
// Every HDF5 call is checked; failures throw ts::h5::Error with the operation, the object path,
// the file name and the cause, and the HDF5 error stack apart. Strings must be valid UTF-8
// (they are stored as UTF-8): anything else is refused with an Error, never written. All identifiers are owned by RAII handles.
// Not thread-safe (the Debian HDF5 build is not): use one thread per file at a time.
#pragma once

#include <hdf5.h>

#include <concepts>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ts::h5 {

/// Any failure of an HDF5 call or a misuse of this wrapper. what() is one line: the operation,
/// the object, the file and the cause ("...: No space left on device", "...: file signature
/// not found"); stack() has HDF5's own error stack (several lines) for those who want it
/// (`talentsim --verbose`), empty for a misuse of the wrapper.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& summary, std::string stack = {})
      : std::runtime_error(summary), stack_(std::move(stack)) {}
  const std::string& stack() const noexcept { return stack_; }

 private:
  std::string stack_;
};

/// Numeric element types supported for datasets and series.
template <class T>
concept Numeric = std::same_as<T, double> || std::same_as<T, float> ||
    std::same_as<T, std::int8_t> || std::same_as<T, std::uint8_t> ||
    std::same_as<T, std::int16_t> || std::same_as<T, std::uint16_t> ||
    std::same_as<T, std::int32_t> || std::same_as<T, std::uint32_t> ||
    std::same_as<T, std::int64_t> || std::same_as<T, std::uint64_t>;

namespace detail {
/// Move-only owner of an hid_t, closed with the matching H5?close function.
class Hid {
 public:
  using Closer = herr_t (*)(hid_t);
  Hid() noexcept = default;
  /// Takes ownership of `id` (which must be valid), closing it later with `closer`.
  Hid(hid_t id, Closer closer) noexcept : id_(id), closer_(closer) {}
  Hid(Hid&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = H5I_INVALID_HID; }
  Hid& operator=(Hid&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  ~Hid() { reset(); }
  /// The raw identifier (H5I_INVALID_HID when empty).
  hid_t get() const noexcept { return id_; }
  /// True when an identifier is held.
  bool valid() const noexcept { return id_ >= 0; }
  /// Closes the identifier (if any) and returns the close status.
  herr_t close() noexcept {
    herr_t status = 0;
    if (valid()) status = closer_(id_);
    id_ = H5I_INVALID_HID;
    return status;
  }
  /// Closes the identifier, ignoring errors.
  void reset() noexcept { (void)close(); }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};
}  // namespace detail

template <Numeric T>
class Series;

/// `deflate` argument meaning "the level set for the file" (File::set_deflate; 0 = none).
inline constexpr int kFileDeflate = -1;

/// An open group (the root group or a subgroup). Move-only; keeps the file open while alive.
class Group {
 public:
  Group() = default;

  /// Opens the group `name` (nested path "a/b" allowed), creating it and its parents if missing.
  Group group(const std::string& name);
  /// Opens the existing group `name`; throws if it does not exist.
  Group open_group(const std::string& name) const;
  /// True if a link `name` (group or dataset, nested path allowed) exists below this group.
  bool exists(const std::string& name) const;
  /// Removes the link `name` (a dataset or a whole group) if it exists.
  void remove(const std::string& name);
  /// Names of the direct children (links) of this group, sorted.
  std::vector<std::string> children() const;
  /// Absolute path of this group inside the file, e.g. "/" or "/run/firms".
  const std::string& path() const { return path_; }
  /// Name of the file this group belongs to.
  const std::string& file_name() const { return file_; }

  // Attributes on this group, or on the child object `object` when non-empty. Writing an
  // attribute replaces any existing one with the same name.

  /// Writes a scalar UTF-8 string attribute.
  void attr(const std::string& name, const std::string& value, const std::string& object = "");
  /// Writes a scalar 64-bit integer attribute.
  void attr(const std::string& name, std::int64_t value, const std::string& object = "");
  /// Writes any other integer (or bool) as a 64-bit integer attribute.
  template <std::integral I>
  void attr(const std::string& name, I value, const std::string& object = "") {
    attr(name, static_cast<std::int64_t>(value), object);
  }
  /// Writes a scalar double attribute.
  void attr(const std::string& name, double value, const std::string& object = "");
  /// Writes a 1-D UTF-8 string array attribute.
  void attr(const std::string& name, const std::vector<std::string>& values,
            const std::string& object = "");
  /// Writes a 1-D double array attribute.
  void attr(const std::string& name, const std::vector<double>& values,
            const std::string& object = "");
  /// Reads a scalar string attribute (variable- or fixed-length).
  std::string attr_string(const std::string& name, const std::string& object = "") const;
  /// Reads a scalar integer attribute.
  std::int64_t attr_int(const std::string& name, const std::string& object = "") const;
  /// Reads a scalar numeric attribute as double.
  double attr_double(const std::string& name, const std::string& object = "") const;
  /// Reads a string array attribute (a scalar string gives one element).
  std::vector<std::string> attr_strings(const std::string& name,
                                        const std::string& object = "") const;
  /// Reads a numeric array attribute as doubles.
  std::vector<double> attr_doubles(const std::string& name, const std::string& object = "") const;
  /// True if the attribute exists (false also when `object` does not exist).
  bool has_attr(const std::string& name, const std::string& object = "") const;

  /// Writes a whole dataset `name` with shape `dims` ({} = scalar) from row-major `data`.
  /// `deflate` 1..9 enables chunked gzip compression with the shuffle filter, 0 disables it,
  /// kFileDeflate takes the file's level (File::set_deflate). Scalars and empty datasets are
  /// never compressed. Fails if `name` already exists.
  template <Numeric T>
  void write(const std::string& name, const T* data, const std::vector<hsize_t>& dims,
             int deflate = kFileDeflate);
  /// As above; `data.size()` must equal the product of `dims`.
  template <Numeric T>
  void write(const std::string& name, const std::vector<T>& data, const std::vector<hsize_t>& dims,
             int deflate = kFileDeflate);
  /// Overwrites rows [first_row, first_row + n_rows) of the existing dataset `name` (rows run
  /// along the first axis; `data` holds n_rows whole rows, row-major). The dataset keeps its
  /// shape: the rows must lie inside it.
  template <Numeric T>
  void write_rows(const std::string& name, hsize_t first_row, const T* data, hsize_t n_rows);
  /// Overwrites element `index` of the existing 1-D string dataset `name`.
  void write_string_at(const std::string& name, hsize_t index, const std::string& text) {
    write_strings_at(name, index, {text});
  }
  /// Overwrites elements [first, first + texts.size()) of the existing 1-D string dataset `name`.
  void write_strings_at(const std::string& name, hsize_t first, const std::vector<std::string>& texts);
  /// Writes a scalar UTF-8 string dataset.
  void write_string(const std::string& name, const std::string& text);
  /// Writes a 1-D UTF-8 string dataset.
  void write_strings(const std::string& name, const std::vector<std::string>& texts);
  /// Writes a UTF-8 string dataset of shape `dims` from row-major `texts`.
  void write_strings(const std::string& name, const std::vector<std::string>& texts, const std::vector<hsize_t>& dims);
  /// Reads a whole numeric dataset (converting from the stored type); stores its shape in `dims`.
  template <Numeric T>
  std::vector<T> read(const std::string& name, std::vector<hsize_t>* dims = nullptr) const;
  /// Reads a scalar (or single-element) string dataset.
  std::string read_string(const std::string& name) const;
  /// Reads a string dataset of any shape, flattened.
  std::vector<std::string> read_strings(const std::string& name) const;
  /// Current shape of dataset `name` ({} for a scalar).
  std::vector<hsize_t> shape(const std::string& name) const;

  /// Creates an extendable time series: shape [0, row_dims...], maxshape [unlimited, ...].
  /// Chunks are {chunk_rows, row_dims...}, with chunk_rows reduced to keep a chunk <= 1 MiB.
  template <Numeric T>
  Series<T> series(const std::string& name, const std::vector<hsize_t>& row_dims,
                   hsize_t chunk_rows = 64, int deflate = kFileDeflate);
  /// Reopens an existing series (first dimension unlimited) to append more rows.
  template <Numeric T>
  Series<T> open_series(const std::string& name);

 private:
  friend class File;
  Group(detail::Hid id, std::string file, std::string path, int deflate)
      : id_(std::move(id)), file_(std::move(file)), path_(std::move(path)), deflate_(deflate) {}
  int level(int deflate) const { return deflate == kFileDeflate ? deflate_ : deflate; }
  detail::Hid id_;
  std::string file_;
  std::string path_;
  int deflate_ = 0;  ///< the file's compression level when this handle was opened
};

/// An open HDF5 file. Move-only; closes on destruction (without throwing).
class File {
 public:
  File() = default;
  /// Creates a new file; fails if the file already exists.
  static File create(const std::string& path);
  /// Opens an existing file read-only.
  static File open_read(const std::string& path);
  /// Opens an existing file for reading and writing.
  static File open_rw(const std::string& path);
  File(File&&) noexcept = default;
  File& operator=(File&&) noexcept = default;
  ~File() = default;

  /// The root group "/".
  Group root();
  /// Compression (shuffle + deflate, 1..9; 0 = none) of datasets created from now on through
  /// groups opened after this call, unless a write names its own level. Default 0.
  void set_deflate(int level);
  int deflate() const { return deflate_; }
  /// Flushes all buffers of the file to disk.
  void flush();
  /// Closes the file (idempotent). Objects still open keep the file open until they close.
  void close();
  /// True while the file is open.
  bool is_open() const { return id_.valid(); }
  /// The file name given when opening.
  const std::string& path() const { return path_; }

 private:
  File(detail::Hid id, std::string path) : id_(std::move(id)), path_(std::move(path)) {}
  detail::Hid id_;
  std::string path_;
  int deflate_ = 0;
};

/// An extendable dataset with rows appended over time. Keeps the dataset open; move-only.
template <Numeric T>
class Series {
 public:
  Series() = default;
  /// Appends `n_rows` rows laid out row-major (n_rows * row_size() values).
  void append(const T* rows, hsize_t n_rows = 1);
  /// Appends whole rows; the size must be a multiple of row_size().
  void append(const std::vector<T>& rows);
  /// Sets the number of rows (shrinks, or grows with zeros), e.g. when resuming a checkpoint.
  void truncate(hsize_t n_rows);
  /// Current number of rows.
  hsize_t rows() const { return dims_.empty() ? 0 : dims_[0]; }
  /// Number of values per row (1 for a 1-D series).
  hsize_t row_size() const { return row_size_; }
  /// Shape of one row ({} for a 1-D series).
  std::vector<hsize_t> row_dims() const {
    return dims_.empty() ? std::vector<hsize_t>{}
                         : std::vector<hsize_t>(dims_.begin() + 1, dims_.end());
  }
  /// Absolute path of the dataset inside the file.
  const std::string& path() const { return path_; }

 private:
  friend class Group;
  Series(detail::Hid ds, std::string file, std::string path, std::vector<hsize_t> dims);
  void set_rows(hsize_t n_rows, const char* op);

  detail::Hid ds_;
  std::string file_;
  std::string path_;
  std::vector<hsize_t> dims_;   // current shape [rows, row_dims...]
  std::vector<hsize_t> start_;  // hyperslab buffers, kept to avoid per-append allocation
  std::vector<hsize_t> count_;
  hsize_t row_size_ = 0;
};

}  // namespace ts::h5

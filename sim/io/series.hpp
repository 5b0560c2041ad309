// The datasets a run appends to every step: the time series (/series) and the event log's
// columns (/events), each declared once in series.cpp.
//
// A declaration names the dataset, its axes, units, description and, for coded values, the
// dictionary that names the codes; and it says how to take this step's rows from the
// simulation. From it follow the dataset's creation, its reopening and truncation on resume,
// each step's append (RunWriter) and its entry in the layout document (`talentsim layout`,
// checked against docs/hdf5-layout.json by a test).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/io/h5.hpp"
#include "sim/model/simulation.hpp"

namespace ts::io {

/// What a reader needs to know of a dataset (and what the layout document says of it).
struct DatasetInfo {
  std::string group;               ///< "series" or "events"
  std::string name;
  std::string dtype;               ///< numpy name: "int64", "float64", "uint8", …
  std::vector<std::string> axes;   ///< the first is "step" (series) or "event" (event log)
  std::string units;               ///< empty: none
  std::string description;
  std::string dictionary;          ///< the dataset that names the codes (e.g. "/dims/regions"), or empty
  std::string path() const { return "/" + group + "/" + name; }
};

/// A dataset appended to every step. The rows of a step are taken on the stepping thread
/// (take(): a copy, since the simulation moves on) and appended later, possibly by the
/// writer's background thread (append()).
class StepDataset {
 public:
  virtual ~StepDataset() = default;
  /// The datasets this declaration writes (one, or the event log's columns).
  const std::vector<DatasetInfo>& infos() const { return infos_; }
  /// Creates the dataset(s) in `g` (extendable along the first axis), with their attributes.
  virtual void create(h5::Group& g, int regions, std::size_t firms, hsize_t chunk_rows) = 0;
  /// Reopens the existing dataset(s) in `g` and cuts them to `rows` rows (a resumed run).
  virtual void reopen(h5::Group& g, hsize_t rows) = 0;
  /// This step's rows, as bytes, into `rows` (replacing what it held).
  virtual void take(const model::Simulation& sim, std::vector<std::byte>& rows) const = 0;
  /// Appends rows taken by take() (an empty step appends nothing to the event log).
  virtual void append(const std::vector<std::byte>& rows) = 0;
  /// Closes the dataset (before the file is closed).
  virtual void release() = 0;

 protected:
  explicit StepDataset(std::vector<DatasetInfo> infos) : infos_(std::move(infos)) {}
  std::vector<DatasetInfo> infos_;
};

/// Every dataset appended each step, in the order they are written: /series, then /events.
std::vector<std::unique_ptr<StepDataset>> step_datasets();

/// The length of an axis of a row ("region", "tier", "firm", …) in a run with `regions`
/// regions and `firms` firms; throws for an unknown axis.
hsize_t axis_length(const std::string& axis, int regions, std::size_t firms);

/// The layout document's entries for the step datasets (and their attributes), as the JSON
/// object members of docs/hdf5-layout.json's "objects", one per line, in declaration order.
std::string step_datasets_layout_json();
/// The same as the Markdown tables of docs/hdf5-layout.md's sections on /series and /events.
std::string step_datasets_layout_markdown();

}  // namespace ts::io

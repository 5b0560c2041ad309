// Diagnostics collector for configuration / scenario loading.
//
// Every problem found in a user-edited file is recorded (not thrown) so that a
// single run can report all of them, each with file, line, column and key path.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace ts::cfg {

struct Location {
  std::string file;  // source file name as given by the user, or "--set" for command-line overrides
  int line = 0;      // 1-based; 0 = unknown
  int column = 0;    // 1-based; 0 = unknown
  // For locations without a line (e.g. "--set"): the text that was given
  // ("market.lambda0=abc"); format() prints it after the file name.
  std::string snippet = {};

  friend bool operator==(const Location&, const Location&) = default;
};

struct Diagnostic {
  Location loc;
  std::string path;     // key path, e.g. "firms[3].budget" or "market.lambda0"; may be empty
  std::string message;  // what was expected / what went wrong
};

// Renders "file:line:col", "file" (line unknown) or "--set a.b=1".
std::string format_location(const Location& loc);

class Diagnostics {
 public:
  void error(const Location& loc, std::string path, std::string message);

  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& all() const { return items_; }  // insertion order

  // One line per diagnostic ("file:line:col: path: message"), sorted by file
  // name (the "--set" pseudo-file last), line, column, then insertion order.
  std::string format() const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace ts::cfg

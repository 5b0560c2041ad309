// Diagnostics collector for configuration / scenario loading.
//
// Every problem found in a user-edited file is recorded (not thrown) so that a
// single run can report all of them, each with file, line, column and key path.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
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

// Renders "file:line:col", "file" (line unknown) or "--set a.b=1" (a long assignment
// shortened as by quoted()).
std::string format_location(const Location& loc);

// A user's text for a message, in single quotes, with control characters escaped (\n, \t,
// \xNN) and invalid UTF-8 bytes shown as \xNN. Text longer than `max_chars` characters is
// cut to its first `max_chars` characters: 'abc…' (52428800 bytes). No value is ever echoed
// back whole: a 50 MB value makes a one-line message.
std::string quoted(std::string_view text, std::size_t max_chars = 60);
// As quoted(), without the quotes.
std::string shortened(std::string_view text, std::size_t max_chars = 60);

// Whether `text` is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
// If not and `bad_offset` is given, it receives the offset of the first invalid byte.
bool valid_utf8(std::string_view text, std::size_t* bad_offset = nullptr);

class Diagnostics {
 public:
  void error(const Location& loc, std::string path, std::string message);

  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& all() const { return items_; }  // insertion order

  // One line per diagnostic ("file:line:col: path: message"), sorted by file
  // name (the "--set" pseudo-file last), line, column, then insertion order. A line
  // longer than 2000 bytes is cut (a safety net: messages quote values with quoted()).
  std::string format() const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace ts::cfg

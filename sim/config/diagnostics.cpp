#include "sim/config/diagnostics.hpp"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string_view>
#include <tuple>

namespace ts::cfg {

namespace {

/// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;  // overlong, too big, surrogate
  return n;
}

void hex_byte(std::string& out, unsigned char c) {
  static const char* hex = "0123456789abcdef";
  out += "\\x";
  out += hex[c >> 4];
  out += hex[c & 15];
}

}  // namespace

bool valid_utf8(std::string_view text, std::size_t* bad_offset) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    i += n;
  }
  return true;
}

namespace {

/// The first `max_chars` characters of `text`, escaped for a one-line message; `truncated`
/// says whether anything was left out.
std::string head(std::string_view text, std::size_t max_chars, bool& truncated) {
  std::string out;
  std::size_t chars = 0, i = 0;
  for (; i < text.size() && chars < max_chars; ++chars) {
    const std::size_t n = utf8_sequence(text, i);
    const auto c = static_cast<unsigned char>(text[i]);
    if (n == 0) {
      hex_byte(out, c);
      ++i;
      continue;
    }
    if (n == 1 && (c < 0x20 || c == 0x7f)) {
      if (c == '\n') out += "\\n";
      else if (c == '\t') out += "\\t";
      else if (c == '\r') out += "\\r";
      else hex_byte(out, c);
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  truncated = i < text.size();
  return out;
}

}  // namespace

std::string shortened(std::string_view text, std::size_t max_chars) {
  bool cut = false;
  std::string out = head(text, max_chars, cut);
  if (cut) out += "… (" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string quoted(std::string_view text, std::size_t max_chars) {
  bool cut = false;
  const std::string body = head(text, max_chars, cut);
  if (cut) return "'" + body + "…' (" + std::to_string(text.size()) + " bytes)";
  return "'" + body + "'";
}

std::string format_location(const Location& loc) {
  std::string out = loc.file.empty() ? std::string("<input>") : loc.file;
  if (!loc.snippet.empty()) out += " " + shortened(loc.snippet, 120);
  if (loc.line > 0) {
    out += ":" + std::to_string(loc.line);
    if (loc.column > 0) out += ":" + std::to_string(loc.column);
  }
  return out;
}

void Diagnostics::error(const Location& loc, std::string path, std::string message) {
  items_.push_back(Diagnostic{loc, std::move(path), std::move(message)});
}

std::string Diagnostics::format() const {
  std::vector<std::size_t> order(items_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const Location& x = items_[a].loc;
    const Location& y = items_[b].loc;
    return std::tuple(x.file == "--set", std::string_view(x.file), x.line, x.column) <
           std::tuple(y.file == "--set", std::string_view(y.file), y.line, y.column);
  });
  constexpr std::size_t kMaxLine = 2000;
  std::string out;
  for (std::size_t i : order) {
    const Diagnostic& d = items_[i];
    std::string line = format_location(d.loc) + ": ";
    if (!d.path.empty()) line += d.path + ": ";
    line += d.message;
    if (line.size() > kMaxLine) line = shortened(line, kMaxLine);
    out += line + "\n";
  }
  return out;
}

}  // namespace ts::cfg

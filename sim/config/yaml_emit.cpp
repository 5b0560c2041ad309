// A config tree written back as YAML (the resolved configuration).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sim/config/yaml_tree.hpp"

namespace ts::cfg {

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

}  // namespace ts::cfg

#include "src/imap/mutf7.h"

#include <cstdint>

namespace mailark::imap {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

bool isDirect(unsigned char c) { return c >= 0x20 && c <= 0x7e; }

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

Status malformed(std::string_view why) {
  return protocolError("mailbox name from server is not valid modified UTF-7: " +
                       std::string(why));
}

void appendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes the base64 between '&' and '-' (non-empty) as UTF-16BE.
Status decodeRun(std::string_view run, std::string* out) {
  uint32_t acc = 0;
  int bits = 0;
  uint32_t high = 0;  // pending high surrogate, 0 if none
  for (char c : run) {
    const int v = base64Value(c);
    if (v < 0) return malformed("character outside the base64 alphabet in a '&' run");
    acc = ((acc << 6) | static_cast<uint32_t>(v)) & 0x3FFFFF;
    bits += 6;
    if (bits < 16) continue;
    bits -= 16;
    const uint32_t unit = (acc >> bits) & 0xFFFF;
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      if (high != 0) return malformed("unpaired UTF-16 high surrogate");
      high = unit;
      continue;
    }
    uint32_t cp = unit;
    if (unit >= 0xDC00 && unit <= 0xDFFF) {
      if (high == 0) return malformed("unpaired UTF-16 low surrogate");
      cp = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00);
      high = 0;
    } else if (high != 0) {
      return malformed("unpaired UTF-16 high surrogate");
    }
    if (cp >= 0x20 && cp <= 0x7e) {
      return malformed("printable ASCII encoded in base64");
    }
    appendUtf8(cp, out);
  }
  if (high != 0) return malformed("unpaired UTF-16 high surrogate");
  // Whole 16-bit units only: fewer than 6 spare bits, all zero.
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) {
    return malformed("base64 run does not end on a UTF-16 boundary");
  }
  return Status::ok();
}

// Length of the valid UTF-8 sequence at s[i] and its code point; 0 if the
// bytes there are not valid UTF-8 (overlong, surrogate, above U+10FFFF,
// truncated).
size_t decodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  uint32_t value = c & (0xFF >> (len + 1));
  value = (value << 6) | (b(1) & 0x3F);
  for (size_t k = 2; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    value = (value << 6) | (b(k) & 0x3F);
  }
  *cp = value;
  return len;
}

class Base64Writer {
 public:
  explicit Base64Writer(std::string* out) : out_(out) {}
  void unit(uint32_t u) {
    acc_ = (acc_ << 16) | u;
    bits_ += 16;
    while (bits_ >= 6) {
      bits_ -= 6;
      out_->push_back(kAlphabet[(acc_ >> bits_) & 63]);
    }
    acc_ &= (1u << bits_) - 1;
  }
  void codePoint(uint32_t cp) {
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xD800 + (cp >> 10));
      unit(0xDC00 + (cp & 0x3FF));
    } else {
      unit(cp);
    }
  }
  void finish() {
    if (bits_ > 0) out_->push_back(kAlphabet[(acc_ << (6 - bits_)) & 63]);
    out_->push_back('-');
  }

 private:
  std::string* out_;
  uint32_t acc_ = 0;
  int bits_ = 0;
};

Status encode(std::string_view s, bool lossy, std::string* out) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (isDirect(c)) {
      out->append(c == '&' ? "&-" : std::string_view(&s[i], 1));
      ++i;
      continue;
    }
    out->push_back('&');
    Base64Writer writer(out);
    while (i < s.size() && !isDirect(static_cast<unsigned char>(s[i]))) {
      uint32_t cp = 0;
      size_t len = decodeUtf8(s, i, &cp);
      if (len == 0) {
        if (!lossy) return configError("mailbox name is not valid UTF-8");
        cp = 0xFFFD;
        len = 1;
      }
      writer.codePoint(cp);
      i += len;
    }
    writer.finish();
  }
  return Status::ok();
}

}  // namespace

Result<std::string> decodeMutf7(std::string_view s) {
  std::string out;
  bool after_run = false;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!isDirect(c)) return malformed("byte outside printable US-ASCII");
    if (c != '&') {
      out.push_back(static_cast<char>(c));
      after_run = false;
      ++i;
      continue;
    }
    const size_t end = s.find('-', i + 1);
    if (end == std::string_view::npos) return malformed("'&' shift without closing '-'");
    if (end == i + 1) {
      out.push_back('&');
      after_run = false;
    } else {
      // An encoder must merge adjacent runs, so "&AGE-&Jjo-" has two
      // spellings of one name; accepting it would break name identity.
      if (after_run) return malformed("two base64 runs back to back");
      MAILARK_RETURN_IF_ERROR(decodeRun(s.substr(i + 1, end - i - 1), &out));
      after_run = true;
    }
    i = end + 1;
  }
  return out;
}

Result<std::string> encodeMutf7(std::string_view utf8) {
  std::string out;
  MAILARK_RETURN_IF_ERROR(encode(utf8, /*lossy=*/false, &out));
  return out;
}

std::string encodeMutf7Lossy(std::string_view utf8) {
  std::string out;
  encode(utf8, /*lossy=*/true, &out).ignoreError();
  return out;
}

}  // namespace mailark::imap

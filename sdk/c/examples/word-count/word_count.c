/* word-count — a transform written in C (the C SDK's example).
 *
 * Input      {"text": string}
 * SUCCESS    {"words": n} — n is the number of maximal runs of non-whitespace characters, whitespace being
 *            Unicode White_Space (the same split as Rust's `str::split_whitespace`). Whitespace-only text
 *            has 0 words.
 * VIOLATION  {"reason": "text is missing"} when `text` is absent or null;
 *            {"reason": "text is empty"} when it is "".
 * invalid-input  the input is not a JSON object, `text` is not a string, any other field is present
 *            (a misspelt binding must not be silently ignored), `text` appears twice, or the JSON is malformed.
 *
 * It must never read outside the input it was given, and imports nothing (a transform).
 *
 * JSON handling: not a JSON library, but a hand-written scanner for exactly this input shape — one object
 * whose only field may be `text`. It decodes JSON string escapes (including surrogate pairs) and UTF-8,
 * so a word split by "\u00a0" or "\n" is counted right, and refuses anything else as invalid input. Every
 * read is bounds-checked against the input's length (the input is not NUL-terminated).
 */
#include "transform.h"
#include "sealed.h"

#include <stdio.h>

static bool hex4(sealed_cursor_t *c, uint32_t *out) {
  if (c->end - c->p < 4) return false;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    uint8_t h = c->p[i];
    uint32_t d;
    if (h >= '0' && h <= '9') d = (uint32_t)(h - '0');
    else if (h >= 'a' && h <= 'f') d = (uint32_t)(h - 'a' + 10);
    else if (h >= 'A' && h <= 'F') d = (uint32_t)(h - 'A' + 10);
    else return false;
    v = v * 16 + d;
  }
  c->p += 4;
  *out = v;
  return true;
}

/* One UTF-8 encoded character. The host passes valid UTF-8; malformed bytes, overlong forms and encoded
 * surrogates are still refused rather than trusted. */
static bool utf8(sealed_cursor_t *c, uint32_t *cp) {
  uint8_t b = *c->p;
  size_t n;
  uint32_t v, min;
  if (b < 0x80) {
    *cp = b;
    c->p++;
    return true;
  } else if ((b & 0xE0) == 0xC0) {
    n = 1, v = b & 0x1F, min = 0x80;
  } else if ((b & 0xF0) == 0xE0) {
    n = 2, v = b & 0x0F, min = 0x800;
  } else if ((b & 0xF8) == 0xF0) {
    n = 3, v = b & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if ((size_t)(c->end - c->p) < n + 1) return false;
  for (size_t i = 1; i <= n; i++) {
    if ((c->p[i] & 0xC0) != 0x80) return false;
    v = (v << 6) | (c->p[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
  c->p += n + 1;
  *cp = v;
  return true;
}

/* The next character of a JSON string whose opening quote was consumed: 1 with the character in `*cp`,
 * 0 at the closing quote (consumed), -1 if the string is malformed or unterminated. */
static int string_char(sealed_cursor_t *c, uint32_t *cp) {
  if (c->p >= c->end) return -1;
  uint8_t b = *c->p;
  if (b == '"') {
    c->p++;
    return 0;
  }
  if (b < 0x20) return -1; /* control characters must be escaped */
  if (b != '\\') return utf8(c, cp) ? 1 : -1;
  c->p++;
  if (c->p >= c->end) return -1;
  switch (*c->p++) {
    case '"': *cp = '"'; return 1;
    case '\\': *cp = '\\'; return 1;
    case '/': *cp = '/'; return 1;
    case 'b': *cp = 0x08; return 1;
    case 'f': *cp = 0x0C; return 1;
    case 'n': *cp = 0x0A; return 1;
    case 'r': *cp = 0x0D; return 1;
    case 't': *cp = 0x09; return 1;
    case 'u': {
      uint32_t u, lo;
      if (!hex4(c, &u) || (u >= 0xDC00 && u <= 0xDFFF)) return -1;
      if (u >= 0xD800 && u <= 0xDBFF) { /* a high surrogate needs its low half */
        if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u') return -1;
        c->p += 2;
        if (!hex4(c, &lo) || lo < 0xDC00 || lo > 0xDFFF) return -1;
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
      }
      *cp = u;
      return 1;
    }
    default: return -1;
  }
}

/* Unicode White_Space (what Rust's `char::is_whitespace` tests). */
static bool is_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

typedef struct {
  bool present; /* the field appeared, with a string or null */
  bool null;
  size_t chars; /* characters in the string */
  size_t words;
} text_field;

/* Scans the whole input; returns NULL when it is well formed, else why it is invalid input. */
static const char *scan(sealed_cursor_t *c, text_field *t) {
  int r;
  uint32_t cp;
  if (!sealed_eat(c, '{')) return "input must be a JSON object";
  if (!sealed_eat(c, '}')) {
    do {
      if (!sealed_eat(c, '"')) return "malformed JSON: expected a field name";
      /* Compare the decoded key with "text" as it is read: "te\u0078t" is the same key. */
      size_t matched = 0;
      bool is_text = true;
      while ((r = string_char(c, &cp)) == 1) {
        if (matched < 4 && cp == (uint32_t)"text"[matched]) matched++;
        else is_text = false;
      }
      if (r < 0) return "malformed JSON string";
      if (!is_text || matched != 4) return "unknown field: the input has one field, `text`";
      if (t->present) return "duplicate field `text`";
      t->present = true;
      if (!sealed_eat(c, ':')) return "malformed JSON: expected `:`";
      sealed_skip_ws(c);
      if (c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) {
        c->p += 4;
        t->null = true;
      } else if (sealed_eat(c, '"')) {
        bool in_word = false;
        while ((r = string_char(c, &cp)) == 1) {
          t->chars++;
          if (is_space(cp)) {
            in_word = false;
          } else if (!in_word) {
            in_word = true;
            t->words++;
          }
        }
        if (r < 0) return "malformed JSON string";
      } else {
        return "`text` must be a string";
      }
    } while (sealed_eat(c, ','));
    if (!sealed_eat(c, '}')) return "malformed JSON: expected `,` or `}`";
  }
  sealed_skip_ws(c);
  if (c->p != c->end) return "malformed JSON: text after the object";
  return NULL;
}

bool exports_sealed_capability_node_run(transform_string_t *input, sealed_result_t *ret, sealed_error_t *err) {
  sealed_cursor_t c = {input->ptr, input->ptr + input->len};
  text_field t = {0};
  const char *invalid = scan(&c, &t);
  transform_string_free(input); /* the input is ours to free */
  if (invalid != NULL) return sealed_invalid_input(err, invalid);
  if (!t.present || t.null) return sealed_violation(ret, "text is missing");
  if (t.chars == 0) return sealed_violation(ret, "text is empty");
  /* snprintf is why deny_stubs.c exists: it brings libc's stdio, which references WASI's fd_write. */
  char output[48];
  int n = snprintf(output, sizeof output, "{\"words\":%zu}", t.words);
  if (n < 0 || (size_t)n >= sizeof output) return sealed_internal(err, "formatting the output failed");
  return sealed_outcome(ret, "SUCCESS", output);
}

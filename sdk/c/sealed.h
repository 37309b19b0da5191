/* sealed.h — conveniences for writing a sealed capability in C.
 *
 * Include it after the generated world header (`transform.h` or `side_effect.h`, written by
 * `cargo xtask c-bindings` / `cargo xtask build-c`). It fills in the generated result types and offers a
 * small input cursor; it adds no imports and no state.
 *
 * Why these helpers exist: the generated export glue frees every non-empty string of the returned
 * `node-result` / `run-error` with `free()` after the host has copied it. So the strings must be heap
 * copies — pointing them at a string literal (the generated `*_string_set`) would free static memory and
 * trap. The helpers always copy, and the VIOLATION helper also JSON-escapes its reason, which is easy to
 * get wrong by hand.
 *
 * Out of memory: every helper traps (`__builtin_trap`), as a Rust component does. The run then fails
 * closed with NODE_TRAP; nothing a component can do without memory would be better.
 */
#ifndef SEALED_H
#define SEALED_H

#if !defined(__BINDINGS_TRANSFORM_H) && !defined(__BINDINGS_SIDE_EFFECT_H)
#error "include the generated transform.h or side_effect.h before sealed.h"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The generated names are long; these are the same types. */
typedef exports_sealed_capability_node_node_result_t sealed_result_t;
typedef exports_sealed_capability_node_run_error_t sealed_error_t;

/* Heap copy of `len` bytes of `s` into a component-model string (given by its fields, so one helper serves
 * both worlds' string types). */
static inline void sealed__copy(uint8_t **ptr, size_t *len, const char *s, size_t n) {
  *ptr = NULL;
  *len = n;
  if (n == 0) return; /* an empty string is never freed by the glue */
  *ptr = (uint8_t *)malloc(n);
  if (*ptr == NULL) __builtin_trap();
  memcpy(*ptr, s, n);
}

/* Returns `outcome` with the JSON text `output_json` (which must be valid JSON; the host checks it and
 * fails the run otherwise). Returns true, so `return sealed_outcome(ret, "SUCCESS", "{}");` reads well. */
static inline bool sealed_outcome(sealed_result_t *ret, const char *outcome, const char *output_json) {
  sealed__copy(&ret->outcome.ptr, &ret->outcome.len, outcome, strlen(outcome));
  sealed__copy(&ret->output.ptr, &ret->output.len, output_json, strlen(output_json));
  return true;
}

/* `VIOLATION` with `{"reason": reason}` (as the Rust SDK's `Outcome::violation`); `reason` is UTF-8 text
 * and is escaped here. Returns true. */
static inline bool sealed_violation(sealed_result_t *ret, const char *reason) {
  static const char head[] = "{\"reason\":\"", tail[] = "\"}", hex[] = "0123456789abcdef";
  size_t n = strlen(reason);
  /* Worst case every byte becomes `\u00XX` (6 bytes); n is bounded by the memory that holds `reason`. */
  char *json = (char *)malloc(sizeof head + 6 * n + sizeof tail);
  if (json == NULL) __builtin_trap();
  size_t o = 0;
  memcpy(json, head, sizeof head - 1);
  o += sizeof head - 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)reason[i];
    if (c == '"' || c == '\\') {
      json[o++] = '\\';
      json[o++] = (char)c;
    } else if (c < 0x20) {
      memcpy(json + o, "\\u00", 4);
      json[o + 4] = hex[c >> 4];
      json[o + 5] = hex[c & 0xf];
      o += 6;
    } else {
      json[o++] = (char)c;
    }
  }
  memcpy(json + o, tail, sizeof tail); /* with the NUL */
  sealed_outcome(ret, "VIOLATION", json);
  free(json);
  return true;
}

/* The run-error `invalid-input(message)`: the input is not what the component accepts. Fails the run.
 * Returns false, so `return sealed_invalid_input(err, "...");` is the exported function's error return. */
static inline bool sealed_invalid_input(sealed_error_t *err, const char *message) {
  err->tag = EXPORTS_SEALED_CAPABILITY_NODE_RUN_ERROR_INVALID_INPUT;
  sealed__copy(&err->val.invalid_input.ptr, &err->val.invalid_input.len, message, strlen(message));
  return false;
}

/* The run-error `internal(message)`: the component failed for a reason of its own. Returns false. */
static inline bool sealed_internal(sealed_error_t *err, const char *message) {
  err->tag = EXPORTS_SEALED_CAPABILITY_NODE_RUN_ERROR_INTERNAL;
  sealed__copy(&err->val.internal.ptr, &err->val.internal.len, message, strlen(message));
  return false;
}

/* A bounds-checked cursor over input bytes (the input is not NUL-terminated), for a component that scans
 * one small, fixed JSON shape by hand, as the SDK's examples do. A capability with richer input should
 * compile in a real JSON parser instead. */
typedef struct {
  const uint8_t *p, *end;
} sealed_cursor_t;

/* Skips JSON whitespace between tokens. */
static inline void sealed_skip_ws(sealed_cursor_t *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

/* Consumes `ch` after optional whitespace; false (nothing consumed but whitespace) when it is not next. */
static inline bool sealed_eat(sealed_cursor_t *c, uint8_t ch) {
  sealed_skip_ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return true;
  }
  return false;
}

#endif /* SEALED_H */

/* {{name}}, a side effect written in C: it may use the host's storage, under the labels its node is granted.
 *
 * Input      {"key": string}  (a plain string: no escapes, no control characters, at most 256 bytes)
 * SUCCESS    {"key": key}  the first time: `{}` is inserted under `key` in the registry label `items`
 * ALREADY_EXISTS {"key": key}  after that (the registry is idempotent: a second insert never overwrites)
 * invalid-input  anything else (not an object, another field, `key` not a string, escapes in it)
 *
 * The node needs the grant {"interface": "registry", "label": "items", "ops": ["insert"]}. A storage
 * refusal (no grant, a budget exhausted) is returned as an internal error, which fails the run.
 *
 * JSON handling: a bounds-checked scanner for exactly this input shape, not a JSON library; a real
 * capability with richer input would use one (e.g. a single-header parser compiled in with its sources).
 */
#include "side_effect.h"
#include "sealed.h"

#include <stdio.h>

#define MAX_KEY 256

/* A JSON string without escapes; returns its length, or -1. `out` gets at most MAX_KEY bytes. */
static int plain_string(sealed_cursor_t *c, char *out) {
  if (!sealed_eat(c, '"')) return -1;
  int n = 0;
  while (c->p < c->end && *c->p != '"') {
    uint8_t b = *c->p++;
    if (b == '\\' || b < 0x20 || n >= MAX_KEY) return -1;
    out[n++] = (char)b;
  }
  if (c->p >= c->end) return -1;
  c->p++; /* the closing quote */
  out[n] = '\0';
  return n;
}

/* Parses {"key": "..."} into `key`; NULL on success, else why not. */
static const char *scan(sealed_cursor_t *c, char *key, int *key_len) {
  char field[MAX_KEY + 1];
  if (!sealed_eat(c, '{')) return "the input must be a JSON object";
  if (plain_string(c, field) < 0 || strcmp(field, "key") != 0) return "the only field must be `key`";
  if (!sealed_eat(c, ':')) return "malformed JSON";
  *key_len = plain_string(c, key);
  if (*key_len < 0) return "`key` must be a string of at most 256 bytes without escapes";
  if (!sealed_eat(c, '}')) return "the only field must be `key`";
  sealed_skip_ws(c);
  if (c->p != c->end) return "trailing data after the object";
  return NULL;
}

bool exports_sealed_capability_node_run(side_effect_string_t *input, sealed_result_t *ret, sealed_error_t *err) {
  sealed_cursor_t c = {input->ptr, input->ptr + input->len};
  char key[MAX_KEY + 1];
  int key_len = 0;
  const char *invalid = scan(&c, key, &key_len);
  side_effect_string_free(input); /* the input is ours to free */
  if (invalid != NULL) return sealed_invalid_input(err, invalid);

  side_effect_string_t label = {(uint8_t *)"items", 5};
  side_effect_string_t k = {(uint8_t *)key, (size_t)key_len};
  side_effect_list_u8_t value = {(uint8_t *)"{}", 2};
  sealed_capability_registry_insert_outcome_t outcome;
  sealed_capability_registry_storage_error_t storage_err;
  if (!sealed_capability_registry_insert(&label, &k, &value, &outcome, &storage_err)) {
    sealed_capability_registry_storage_error_free(&storage_err);
    return sealed_internal(err, "the registry refused the insert (is the node granted registry/items/insert?)");
  }

  char output[MAX_KEY + 16];
  int n = snprintf(output, sizeof output, "{\"key\":\"%s\"}", key);
  if (n < 0 || (size_t)n >= sizeof output) return sealed_internal(err, "formatting the output failed");
  const char *name = outcome == SEALED_CAPABILITY_REGISTRY_INSERT_OUTCOME_INSERTED ? "SUCCESS" : "ALREADY_EXISTS";
  return sealed_outcome(ret, name, output);
}

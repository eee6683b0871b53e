#include "common/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Walk the text once to bound nesting before jansson builds anything, so a
 * hostile "[[[[..." costs a scan, not a deep recursive parse.
 */
static int
json_depth_ok(const char *buf, size_t len, size_t max_depth)
{
	size_t depth = 0, i;
	bool in_str = false, esc = false;

	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[') {
			if (++depth > max_depth)
				return 0;
		} else if ((c == '}' || c == ']') && depth > 0)
			depth--;
	}
	return 1;
}

int
json_parse_strict(const char *buf, size_t len, size_t max_len, size_t max_depth,
    json_t **out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	if (len > max_len) {
		snprintf(
		    err, errlen, "document is larger than %zu bytes", max_len);
		return -1;
	}
	if (len == 0) {
		snprintf(err, errlen, "empty body, expected a JSON object");
		return -1;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "NUL byte in document");
		return -1;
	}
	if (!json_depth_ok(buf, len, max_depth)) {
		snprintf(
		    err, errlen, "nesting deeper than %zu levels", max_depth);
		return -1;
	}
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		snprintf(err, errlen, "invalid JSON at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		snprintf(err, errlen, "expected a JSON object");
		return -1;
	}
	*out = v;
	return 0;
}

int
jfield_only(
    const json_t *o, const char *const *allowed, char *err, size_t errlen)
{
	const char *key;
	json_t *val;
	size_t i;

	/* json_object_foreach takes a non-const object; it does not modify. */
	json_object_foreach((json_t *)(uintptr_t)o, key, val)
	{
		bool ok = false;

		(void)val;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], key) == 0) {
				ok = true;
				break;
			}
		if (!ok) {
			snprintf(err, errlen, "%.64s: unknown field", key);
			return -1;
		}
	}
	return 0;
}

static json_t *
jfield_get(const json_t *o, const char *key, bool required, char *err,
    size_t errlen, int *rc)
{
	json_t *v = json_object_get(o, key);

	*rc = 0;
	if (v == NULL || json_is_null(v)) {
		if (required) {
			snprintf(err, errlen, "%s: required", key);
			*rc = -1;
		}
		return NULL;
	}
	return v;
}

int
jfield_str(const json_t *o, const char *key, bool required, size_t max_len,
    const char **out, char *err, size_t errlen)
{
	int rc;
	json_t *v = jfield_get(o, key, required, err, errlen, &rc);

	if (v == NULL)
		return rc;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s: must be a string", key);
		return -1;
	}
	if (json_string_length(v) > max_len) {
		snprintf(
		    err, errlen, "%s: longer than %zu bytes", key, max_len);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int
jfield_int(const json_t *o, const char *key, bool required, int64_t min,
    int64_t max, int64_t *out, char *err, size_t errlen)
{
	int rc;
	json_int_t n;
	json_t *v = jfield_get(o, key, required, err, errlen, &rc);

	if (v == NULL)
		return rc;
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "%s: must be an integer", key);
		return -1;
	}
	n = json_integer_value(v);
	if (n < min || n > max) {
		snprintf(err, errlen, "%s: must be between %lld and %lld", key,
		    (long long)min, (long long)max);
		return -1;
	}
	*out = n;
	return 0;
}

int
jfield_bool(const json_t *o, const char *key, bool required, bool *out,
    char *err, size_t errlen)
{
	int rc;
	json_t *v = jfield_get(o, key, required, err, errlen, &rc);

	if (v == NULL)
		return rc;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "%s: must be true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int
jfield_obj(const json_t *o, const char *key, bool required, json_t **out,
    char *err, size_t errlen)
{
	int rc;
	json_t *v = jfield_get(o, key, required, err, errlen, &rc);

	*out = NULL;
	if (v == NULL)
		return rc;
	if (!json_is_object(v)) {
		snprintf(err, errlen, "%s: must be an object", key);
		return -1;
	}
	*out = v;
	return 0;
}

int
jfield_arr(const json_t *o, const char *key, bool required, size_t max_items,
    json_t **out, char *err, size_t errlen)
{
	int rc;
	json_t *v = jfield_get(o, key, required, err, errlen, &rc);

	*out = NULL;
	if (v == NULL)
		return rc;
	if (!json_is_array(v)) {
		snprintf(err, errlen, "%s: must be an array", key);
		return -1;
	}
	if (json_array_size(v) > max_items) {
		snprintf(
		    err, errlen, "%s: more than %zu items", key, max_items);
		return -1;
	}
	*out = v;
	return 0;
}

char *
json_dump_canonical(const json_t *v, size_t *len)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

	if (s != NULL && len != NULL)
		*len = strlen(s);
	return s;
}

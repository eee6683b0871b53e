#include "steps/steplist.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"

void
steplist_free(struct step_inst *list, size_t n)
{
	size_t i;

	for (i = 0; list != NULL && i < n; i++)
		if (list[i].kind != NULL && list[i].params != NULL)
			list[i].kind->free_params(list[i].params);
	free(list);
}

/* 64 bits of BLAKE2b over the step's canonical JSON; 0 if it won't dump. */
static uint64_t
steplist_fp(const json_t *st)
{
	unsigned char h[8];
	uint64_t fp = 0;
	char *txt = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);

	if (txt == NULL)
		return 0;
	crypto_generichash(
	    h, sizeof(h), (const unsigned char *)txt, strlen(txt), NULL, 0);
	memcpy(&fp, h, sizeof(fp));
	free(txt);
	return fp;
}

static int
steplist_one(struct step_inst *list, size_t i, const json_t *st, char *err,
    size_t errlen)
{
	static const char *const keys[] = { "name", "kind", "after", "params",
		NULL };
	struct step_inst *k = &list[i];
	const char *name = NULL, *kind = NULL;
	json_t *after = NULL, *params = NULL, *a;
	char sub[256];
	size_t j, n;

	if (!json_is_object(st)) {
		snprintf(err, errlen, "steps[%zu]: must be an object", i);
		return -1;
	}
	if (jfield_only(st, keys, sub, sizeof(sub)) ||
	    jfield_str(st, "name", true, 64, &name, sub, sizeof(sub)) ||
	    jfield_str(st, "kind", true, 32, &kind, sub, sizeof(sub)) ||
	    jfield_arr(
		st, "after", false, STEP_AFTER_MAX, &after, sub, sizeof(sub)) ||
	    jfield_obj(st, "params", false, &params, sub, sizeof(sub))) {
		snprintf(err, errlen, "steps[%zu].%s", i, sub);
		return -1;
	}
	if (!util_name_ok(name)) {
		snprintf(err, errlen,
		    "steps[%zu].name: must match [a-z0-9][a-z0-9-]{0,31}", i);
		return -1;
	}
	for (j = 0; j < i; j++)
		if (strcmp(list[j].name, name) == 0) {
			snprintf(err, errlen,
			    "steps[%zu].name: duplicate "
			    "\"%s\"",
			    i, name);
			return -1;
		}
	util_strlcpy(k->name, name, sizeof(k->name));
	k->fp = steplist_fp(st);
	if ((k->kind = step_kind_find(kind)) == NULL) {
		snprintf(err, errlen, "steps[%zu].kind: unknown kind \"%.32s\"",
		    i, kind);
		return -1;
	}
	json_array_foreach(after, n, a)
	{
		bool found = false;

		for (j = 0; j < i && json_is_string(a); j++)
			if (strcmp(list[j].name, json_string_value(a)) == 0) {
				k->after[k->nafter++] = j;
				found = true;
				break;
			}
		if (!found) {
			snprintf(err, errlen,
			    "steps[%zu].after[%zu]: must name an earlier step",
			    i, n);
			return -1;
		}
	}
	if (k->kind->parse(params, &k->params, sub, sizeof(sub)) != 0) {
		k->params = NULL;
		snprintf(err, errlen, "steps[%zu].params.%s", i, sub);
		return -1;
	}
	return 0;
}

int
steplist_parse(const json_t *steps, struct step_inst **out, size_t *n,
    char *err, size_t errlen)
{
	struct step_inst *list = NULL;
	size_t i, count;

	*out = NULL;
	*n = 0;
	if (!json_is_array(steps)) {
		snprintf(err, errlen, "steps: must be an array");
		return -1;
	}
	count = json_array_size(steps);
	if (count > STEPLIST_MAX) {
		snprintf(err, errlen, "steps: more than %d", STEPLIST_MAX);
		return -1;
	}
	if (count > 0 && (list = calloc(count, sizeof(*list))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < count; i++)
		if (steplist_one(
			list, i, json_array_get(steps, i), err, errlen) != 0) {
			steplist_free(list, count);
			return -1;
		}
	*out = list;
	*n = count;
	return 0;
}

/*
 * fuzz_rollout: a POST /v1/rollouts body: rollout_params_parse
 * (cp/rollout_plan.c) under both strategies, on the document read
 * strictly with the server's limits, and then the plan those parameters
 * make for a small fixed fleet (rollout_plan), which is where custom
 * waves from the body end up.
 *
 * Invariants: accepted parameters are in their documented ranges; their
 * stored JSON (rollout_params_json) parses again to the same parameters,
 * so a rollout read back from the store is the one that was created; the
 * plan puts every healthy node in exactly one wave below the count it
 * returns (at most ROLLOUT_MAX_WAVES) and no unhealthy one anywhere, and
 * names every wave.
 */
#include <jansson.h>

#include "common/json.h"
#include "cp/rollout.h"
#include "cp/server.h"
#include "tests/fuzz/fuzz.h"

static struct rollout_cand fleet[] = {
	{ "n-01", "ams1", "eu", true, 0 },
	{ "n-02", "ams1", "eu", true, 0 },
	{ "n-03", "ams1", "eu", false, 0 },
	{ "n-04", "fra1", "eu", true, 0 },
	{ "n-05", "fra1", "eu", true, 0 },
	{ "n-06", "nyc1", "us", true, 0 },
	{ "n-07", "nyc1", "us", true, 0 },
	{ "n-08", "nyc1", "us", true, 0 },
	{ "n-09", "sfo1", NULL, true, 0 },
	{ "n-10", "sfo1", NULL, false, 0 },
	{ "n-11", "sin1", "ap", true, 0 },
	{ "n-12", "sin1", "ap", true, 0 },
};

static void
check_plan(const struct rollout_params *p, bool once)
{
	struct rollout_cand c[sizeof(fleet) / sizeof(fleet[0])];
	char names[ROLLOUT_MAX_WAVES][32], err[256];
	size_t i, n = sizeof(fleet) / sizeof(fleet[0]);
	int nw, w;

	/* Also with fewer nodes, down to none. */
	for (n = sizeof(fleet) / sizeof(fleet[0]);; n /= 2) {
		memcpy(c, fleet, sizeof(c));
		memset(names, 0, sizeof(names));
		nw =
		    rollout_plan(c, n, p->waves, once, names, err, sizeof(err));
		if (nw < 0) {
			/* Only a custom wave naming a POP or region nobody is in. */
			FUZZ_REQUIRE(!once && p->waves != NULL);
		} else {
			FUZZ_REQUIRE(nw <= ROLLOUT_MAX_WAVES);
			for (w = 0; w < nw; w++)
				FUZZ_REQUIRE(names[w][0] != '\0' &&
				    memchr(names[w], '\0', 32) != NULL);
			for (i = 0; i < n; i++) {
				if (!c[i].healthy)
					FUZZ_REQUIRE(c[i].wave == -1);
				else
					FUZZ_REQUIRE(
					    c[i].wave >= 0 && c[i].wave < nw);
			}
		}
		if (n == 0)
			break;
	}
}

static void
check(const json_t *body, const char *strategy)
{
	struct rollout_params p, q;
	json_t *stored, *back = NULL, *stored2;
	char err[256], *txt;
	bool once = strcmp(strategy, "all_at_once") == 0;

	err[0] = '\0';
	if (rollout_params_parse(body, strategy, &p, err, sizeof(err)) != 0) {
		FUZZ_REQUIRE(err[0] != '\0');
		rollout_params_clear(&p);
		return;
	}
	FUZZ_REQUIRE(p.bake_s >= 0 && p.bake_s <= 86400);
	FUZZ_REQUIRE(p.min_reports >= 0 && p.min_reports <= 100);
	FUZZ_REQUIRE(p.deadline_s >= 10 && p.deadline_s <= 7 * 86400);
	FUZZ_REQUIRE(p.unhealthy_s >= 0 && p.unhealthy_s <= 3600);
	FUZZ_REQUIRE(p.waves == NULL ||
	    (!once && json_array_size(p.waves) <= ROLLOUT_MAX_WAVES));

	stored = rollout_params_json(&p);
	FUZZ_REQUIRE(stored != NULL);
	txt = json_dump_canonical(stored, NULL);
	FUZZ_REQUIRE(txt != NULL);
	FUZZ_REQUIRE(json_parse_strict(txt, strlen(txt), SERVER_MAX_BODY * 2,
			 JSON_DEFAULT_DEPTH, &back, err, sizeof(err)) == 0);
	FUZZ_REQUIRE(
	    rollout_params_parse(back, strategy, &q, err, sizeof(err)) == 0);
	stored2 = rollout_params_json(&q);
	FUZZ_REQUIRE(stored2 != NULL && json_equal(stored, stored2));

	check_plan(&p, once);

	json_decref(stored2);
	rollout_params_clear(&q);
	json_decref(back);
	free(txt);
	json_decref(stored);
	rollout_params_clear(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_copy(data, size), err[256];
	json_t *doc = NULL;

	if (json_parse_strict(buf, size, SERVER_MAX_BODY, JSON_DEFAULT_DEPTH,
		&doc, err, sizeof(err)) == 0) {
		check(doc, "waves");
		check(doc, "all_at_once");
	}
	json_decref(doc);
	free(buf);
	return 0;
}

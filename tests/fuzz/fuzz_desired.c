/*
 * fuzz_desired: the desired-state document as the keeper reads what
 * edge-cp sends (GET /v1/node/desired): kdesired_parse (keeper/desired.c),
 * which runs the strict reader, the POP's "bgp" check (common/bgpconf.c)
 * and the step-list parser with every kind's params (steps/steplist.c).
 *
 * Invariants on an accepted document: the strings are terminated within
 * their buffers and the versions are ones that may become a path; the
 * router id, when there is one, is a dotted quad; the "bgp" kept is
 * canonical (checking it again gives it back unchanged); the steps are
 * at most STEPLIST_MAX, each with a kind, "after" naming earlier steps
 * only; and parsing the same text twice gives the same steps and
 * fingerprints.  A refused one says why.
 */
#include <arpa/inet.h>
#include <jansson.h>

#include "common/bgpconf.h"
#include "common/util.h"
#include "keeper/desired.h"
#include "tests/fuzz/fuzz.h"

static void
check(const struct kdesired *d, const struct kdesired *e)
{
	unsigned char bin[4];
	json_t *bgp = NULL;
	char err[256];
	size_t i, j;

	FUZZ_REQUIRE(memchr(d->node_id, '\0', sizeof(d->node_id)) != NULL);
	FUZZ_REQUIRE(d->interval_s >= 1 && d->interval_s <= 300);
	FUZZ_REQUIRE(d->profile_version >= 0);
	FUZZ_REQUIRE(d->dataplane_version[0] == '\0' ||
	    util_version_ok(d->dataplane_version));
	FUZZ_REQUIRE(
	    d->keeper_version[0] == '\0' || util_version_ok(d->keeper_version));
	FUZZ_REQUIRE(d->router_id[0] == '\0' ||
	    inet_pton(AF_INET, d->router_id, bin) == 1);
	FUZZ_REQUIRE(json_is_object(d->pop));
	if (d->bgp != NULL) {
		FUZZ_REQUIRE(
		    bgpconf_validate(d->bgp, &bgp, err, sizeof(err)) == 0);
		FUZZ_REQUIRE(json_equal(bgp, d->bgp));
		json_decref(bgp);
	}
	FUZZ_REQUIRE(d->nsteps <= STEPLIST_MAX && d->nsteps == e->nsteps);
	for (i = 0; i < d->nsteps; i++) {
		FUZZ_REQUIRE(d->steps[i].kind != NULL);
		FUZZ_REQUIRE(d->steps[i].kind == e->steps[i].kind);
		FUZZ_REQUIRE(d->steps[i].fp == e->steps[i].fp);
		FUZZ_REQUIRE(strcmp(d->steps[i].name, e->steps[i].name) == 0);
		FUZZ_REQUIRE(d->steps[i].nafter <= STEP_AFTER_MAX);
		for (j = 0; j < d->steps[i].nafter; j++)
			FUZZ_REQUIRE(d->steps[i].after[j] < i);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_copy(data, size), err[256];
	struct kdesired *d, *e;

	err[0] = '\0';
	d = kdesired_parse(buf, size, err, sizeof(err));
	if (d == NULL) {
		FUZZ_REQUIRE(err[0] != '\0');
		free(buf);
		return 0;
	}
	e = kdesired_parse(buf, size, err, sizeof(err));
	FUZZ_REQUIRE(e != NULL);
	check(d, e);
	kdesired_free(e);
	kdesired_free(d);
	free(buf);
	return 0;
}

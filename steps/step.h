/*
 * step: the interface every Step kind implements, one file per kind in
 * steps/ (sysctl.c, file.c, ...), listed in the table in steps/kinds.c.
 * The keeper only iterates over Steps; edge-cp calls the same parse
 * functions when a profile is PUT, so a bad step is refused centrally
 * with the field it names, not discovered on ten thousand nodes.
 *
 * A Step's life in one reconcile pass (keeper/reconcile.c):
 *
 *	check ──in_sync──────────────────────────────▶ in_sync
 *	  │
 *	  ├──needs_change──▶ apply ──▶ check again ──▶ what that check says
 *	  │                    (backoff after a failed apply: not before
 *	  │                     kind->retry_s has passed)
 *	  └──error─────────────────────────────────────▶ error
 *	a step whose "after" names a step not in_sync ──▶ skipped
 *
 * Contract for kinds:
 * - parse() turns the step's "params" object into a private struct
 *   (*out, freed with free_params) or fails with "field: problem" in err
 *   and allocates nothing.  It rejects unknown fields.  Pure: it must not
 *   look at the host (edge-cp runs it too).
 * - check() looks at the host and says in_sync, needs_change or error,
 *   with a reason for anything but in_sync.  It changes nothing.
 * - apply() makes the change.  It returns 0 or -1 with a reason; the
 *   keeper's second check decides what is reported.
 * - Every host path goes through step_path(), so --root confines the
 *   keeper to a directory in tests and demos.  External commands go
 *   through common/exec.h, never a shell.
 * - Called from the keeper's one reconcile thread; no global state.
 */
#ifndef EF_STEP_H
#define EF_STEP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/gate.h"

#define STEP_REASON_MAX 512

enum step_state {
	STEP_IN_SYNC,
	STEP_NEEDS_CHANGE,
	STEP_ERROR,
	STEP_SKIPPED,
};

struct step_host;

struct step_result {
	enum step_state state;
	char reason[STEP_REASON_MAX];
};

/* What a step may know about the host it runs on. */
struct step_env {
	const char *root; /* "" on a real host, else a directory prefix */
	/*
	 * Where sysctls live: "/proc/sys" (NULL means that too).  Not under
	 * root: net.* sysctls are per network namespace, so tests set them
	 * for real inside one; unit tests point it at a directory.
	 */
	const char *proc_sys;
	bool systemd; /* systemd is PID 1 (false under --root) */
	int64_t now;
	const struct step_host *host; /* NULL in edge-cp and unit tests */
};

/*
 * What the keeper lends the steps that need more than the host: the
 * release the desired state asks for, and a way to fetch one verified.
 */
struct step_host {
	const char *dataplane_version; /* "" when none is targeted */
	/* The desired state allows going back to an older sequence. */
	bool dataplane_rollback;
	/*
	 * Who edge-dp runs as when the dataplane step names no user
	 * (keeper.conf dataplane_user); "root", "" or NULL: root.
	 */
	const char *dataplane_user;
	/*
	 * Download component@version to dest, verify its signature against
	 * the pinned release key (component, version, size, sha256 and
	 * sequence bound in the trusted comment; no sequence older than the
	 * newest admitted unless allow_rollback), and install it (mode 0755,
	 * its signature beside it as dest.minisig).  0, or -1 with why.
	 */
	int (*fetch_release)(void *ctx, const char *component,
	    const char *version, const char *dest, bool allow_rollback,
	    char *err, size_t errlen);
	/*
	 * The same checks for an installed binary, before each start; one
	 * that is not what was signed is removed (fetched again next time).
	 */
	int (*verify_release)(void *ctx, const char *component,
	    const char *version, const char *path, bool allow_rollback,
	    char *err, size_t errlen);
	void *ctx;
	/*
	 * For bird_config and anycast: the POP's "bgp" section as edge-cp
	 * validated it (NULL when it has none), this node's router id ("" when
	 * edge-cp knows none), and whether an operator asked to drain it.
	 */
	const json_t *bgp;
	const char *router_id;
	bool drain;
	/*
	 * For keeper_self: the keeper release the desired state targets (""
	 * for none), whether going back is allowed, whether a version
	 * failed its trial here, and a way to start the trial of an
	 * installed, verified version (the keeper re-execs after the pass;
	 * NULL under `check`).  See keeper/selfup.h.
	 */
	const char *keeper_version;
	bool keeper_rollback;
	bool (*self_failed)(void *self, const char *version);
	int (*self_update)(
	    void *self, const char *version, char *err, size_t errlen);
	void *self;
	/*
	 * The anycast gate (keeper/gate.h).  gate_set hands it a
	 * configuration (the same one again changes nothing); NULL under
	 * `edge-keeper check`, which changes nothing.  gate_get reads where
	 * it stands; under `check`, where no gate runs, it probes once and
	 * looks at the interface as a gate configured with want would.
	 */
	int (*gate_set)(
	    void *gate, const struct gate_config *c, char *err, size_t errlen);
	void (*gate_get)(
	    void *gate, const struct gate_config *want, struct gate_view *v);
	void *gate;
};

struct step_kind {
	const char *name;
	int (*parse)(
	    const json_t *params, void **out, char *err, size_t errlen);
	void (*free_params)(void *params);
	void (*check)(const void *params, const struct step_env *env,
	    struct step_result *res);
	int (*apply)(const void *params, const struct step_env *env,
	    struct step_result *res);
	int retry_s; /* least time between failed applies */
};

/* NULL when no kind has this name. */
const struct step_kind *step_kind_find(const char *name);

/* Every kind, NULL-terminated (steps/kinds.c). */
extern const struct step_kind *const step_kinds[];

/*
 * Join env->root and an absolute host path into out.  Returns 0, or -1
 * when path is not absolute, contains a ".." component, or does not fit.
 */
int step_path(
    const struct step_env *env, const char *path, char *out, size_t len);

/* Fill res with a state and a printf-style reason. */
void step_set(struct step_result *res, enum step_state state, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

const char *step_state_name(enum step_state s);

#endif

/*
 * api: the route handlers, one function per endpoint, grouped by resource
 * (api_pops.c, api_nodes.c, api_node.c for the node-facing endpoints,
 * api_releases.c for release uploads and artifact downloads, api_admin.c
 * for tokens, profile, rollouts, events and the rest).
 * The table that maps paths to them is cp/routes.c.
 *
 * Every handler follows cp/server.h: runs on a pool thread, reads
 * r->params and r->json (already parsed and size-checked), and makes
 * exactly one reply.
 */
#ifndef EF_API_H
#define EF_API_H

#include "cp/server.h"

int api_healthz(struct req *r);
int api_metrics(struct req *r);
int api_dashboard(struct req *r);
int api_whoami(struct req *r);

int api_pops_list(struct req *r);
int api_pops_create(struct req *r);
int api_pops_show(struct req *r);
int api_pops_patch(struct req *r);

int api_apitokens_create(struct req *r);
int api_apitokens_list(struct req *r);
int api_apitokens_revoke(struct req *r);
int api_enrolltokens_create(struct req *r);
int api_enrolltokens_list(struct req *r);
int api_enrolltokens_revoke(struct req *r);

int api_enroll(struct req *r);
int api_node_session(struct req *r);
int api_node_desired(struct req *r);
int api_node_status(struct req *r);

int api_nodes_list(struct req *r);
int api_nodes_show(struct req *r);
int api_nodes_drain(struct req *r);
int api_nodes_undrain(struct req *r);
int api_nodes_patch(struct req *r);
int api_nodes_delete(struct req *r);
int api_fleet(struct req *r);

int api_profile_get(struct req *r);
int api_profile_put(struct req *r);
int api_releases_list(struct req *r);
/* PUT /v1/releases/{c}/{v}: a streaming route, with this body stream. */
int api_releases_put(struct req *r);
extern const struct body_stream api_release_upload;
/* Two-person rule: approve or discard an upload waiting for approval. */
int api_releases_approve(struct req *r);
int api_releases_discard(struct req *r);
/*
 * The two-person rule's one check (threat T17): 0 when r->actor is a
 * second person to `by`, the token behind the thing to approve (not it,
 * not made by it, not its maker, not made by the same token but the
 * first admin token: store_apitoken_related).  Else a 403
 * ("same_person") is the reply, the refusal is event `action` on
 * `object` naming both tokens, and -1.  what: "approve this upload".
 */
int api_second_person(struct req *r, const char *by, const char *action,
    const char *object, const char *what);
/* GET /v1/releases/{c}/next-seq: the sequence the next upload gets. */
int api_releases_next_seq(struct req *r);
/* GET /v1/artifacts/{c}/{v} and /v1/artifacts/{c}/{v}.minisig */
int api_artifacts_get(struct req *r);
/*
 * Start-up, before the server listens: remove unfinished uploads and
 * release files that have no row (cp/artifact.h).  Returns the number of
 * files removed, or -1.
 */
int api_releases_sweep(void);
/* GET and POST /v1/release-keys (cp/api_release_keys.c). */
int api_release_keys_get(struct req *r);
int api_release_keys_post(struct req *r);
/* GET and POST /v1/release-revocations (cp/api_release_keys.c). */
int api_release_revocations_get(struct req *r);
int api_release_revocations_post(struct req *r);
int api_rollouts_create(struct req *r);
int api_rollouts_list(struct req *r);
int api_rollouts_show(struct req *r);
int api_rollouts_abort(struct req *r);
int api_rollouts_pause(struct req *r);
int api_rollouts_resume(struct req *r);
int api_rollouts_promote(struct req *r);
int api_freeze(struct req *r);
int api_events(struct req *r);

int api_bootstrap_script(struct req *r);
int api_bootstrap_keeper(struct req *r);
/* Read the edge-keeper binary to hand out; NULL: the one beside us. */
int bootstrap_load_keeper(const char *path);
/* The base URL nodes use: --public-url, or the Host the caller used. */
int api_base_url(struct req *r, char *buf, size_t len);

/*
 * The node's derived view for listings: the stored row plus health and
 * the in-memory last_seen.  Steals row, returns it (or NULL).
 */
json_t *api_node_view(json_t *row, int64_t now);

#endif

/*
 * The routing table: method, path pattern, who may call it, whether the
 * body is JSON, the handler, the metrics label, and for the few routes
 * that need them a body limit and a body stream.  Adding an endpoint is
 * adding a row here and a handler in cp/api_*.c.
 */
#include "cp/api.h"
#include "common/util.h"
#include "cp/artifact.h"
#include "cp/sse.h"

/*
 * Most rows stop after the metrics label: max_body and stream are left
 * zero, which means the default (a body of up to SERVER_MAX_BODY kept in
 * memory).  Rows stay positional because tests/integration/cp_docs.sh
 * reads "{ METHOD, PATTERN" off this table.
 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

const struct route server_routes[] = {
	{ "GET", "/healthz", AUTH_NONE, false, api_healthz, "healthz" },
	{ "GET", "/metrics", AUTH_METRICS, false, api_metrics, "metrics" },
	{ "GET", "/", AUTH_NONE, false, api_dashboard, "dashboard" },
	{ "GET", "/v1/whoami", AUTH_VIEWER, false, api_whoami, "whoami" },

	{ "GET", "/v1/pops", AUTH_VIEWER, false, api_pops_list, "pops" },
	{ "POST", "/v1/pops", AUTH_OPERATOR, true, api_pops_create, "pops" },
	{ "GET", "/v1/pops/{}", AUTH_VIEWER, false, api_pops_show, "pop" },
	{ "PATCH", "/v1/pops/{}", AUTH_OPERATOR, true, api_pops_patch, "pop" },

	{ "POST", "/v1/api-tokens", AUTH_ADMIN, true, api_apitokens_create,
	    "api_tokens" },
	{ "GET", "/v1/api-tokens", AUTH_ADMIN, false, api_apitokens_list,
	    "api_tokens" },
	{ "DELETE", "/v1/api-tokens/{}", AUTH_ADMIN, false,
	    api_apitokens_revoke, "api_token" },
	{ "POST", "/v1/enrollment-tokens", AUTH_OPERATOR, true,
	    api_enrolltokens_create, "enrollment_tokens" },
	{ "GET", "/v1/enrollment-tokens", AUTH_ADMIN, false,
	    api_enrolltokens_list, "enrollment_tokens" },
	{ "DELETE", "/v1/enrollment-tokens/{}", AUTH_ADMIN, false,
	    api_enrolltokens_revoke, "enrollment_token" },

	/*
	 * Open to anyone, and each makes edge-cp work for a stranger (a
	 * signature to verify, a row to write, a binary to send): rate
	 * limited per address.  /healthz and /metrics are not: load
	 * balancers and scrapers poll them, and a refusal would read as an
	 * outage (T43 in docs/threat-model.md covers /metrics); nor is the
	 * dashboard, a static page.
	 */
	{ "GET", "/v1/bootstrap.sh", AUTH_NONE_LIMITED, false,
	    api_bootstrap_script, "bootstrap" },
	{ "GET", "/v1/bootstrap/edge-keeper", AUTH_NONE_LIMITED, false,
	    api_bootstrap_keeper, "bootstrap_keeper" },
	{ "POST", "/v1/enroll", AUTH_NONE_LIMITED, true, api_enroll, "enroll" },
	{ "POST", "/v1/node/session", AUTH_NONE_LIMITED, true, api_node_session,
	    "node_session" },
	{ "GET", "/v1/node/desired", AUTH_NODE, false, api_node_desired,
	    "node_desired" },
	{ "POST", "/v1/node/status", AUTH_NODE, true, api_node_status,
	    "node_status" },

	{ "GET", "/v1/nodes", AUTH_VIEWER, false, api_nodes_list, "nodes" },
	{ "GET", "/v1/nodes/{}", AUTH_VIEWER, false, api_nodes_show, "node" },
	{ "PATCH", "/v1/nodes/{}", AUTH_OPERATOR, true, api_nodes_patch,
	    "node" },
	{ "DELETE", "/v1/nodes/{}", AUTH_OPERATOR, false, api_nodes_delete,
	    "node" },
	{ "POST", "/v1/nodes/{}/drain", AUTH_OPERATOR, false, api_nodes_drain,
	    "node_drain" },
	{ "POST", "/v1/nodes/{}/undrain", AUTH_OPERATOR, false,
	    api_nodes_undrain, "node_undrain" },
	{ "GET", "/v1/fleet", AUTH_VIEWER, false, api_fleet, "fleet" },

	{ "GET", "/v1/profile", AUTH_VIEWER, false, api_profile_get,
	    "profile" },
	{ "PUT", "/v1/profile", AUTH_OPERATOR, true, api_profile_put,
	    "profile" },
	{ "GET", "/v1/releases", AUTH_VIEWER, false, api_releases_list,
	    "releases" },
	{ "GET", "/v1/releases/{}/next-seq", AUTH_VIEWER, false,
	    api_releases_next_seq, "release_next_seq" },
	/* Release binaries stream to disk, up to their own limit. */
	{ "PUT", "/v1/releases/{}/{}", AUTH_ADMIN, false, api_releases_put,
	    "release_upload", ARTIFACT_MAX_SIZE, &api_release_upload },
	/* The two-person rule: a second admin approves an upload. */
	{ "POST", "/v1/releases/{}/{}/approve", AUTH_ADMIN, false,
	    api_releases_approve, "release_approve" },
	{ "DELETE", "/v1/releases/{}/{}", AUTH_ADMIN, false,
	    api_releases_discard, "release_discard" },
	/* The current release key and the rotations that led to it. */
	{ "GET", "/v1/release-keys", AUTH_NODE_OR_VIEWER, false,
	    api_release_keys_get, "release_keys" },
	{ "POST", "/v1/release-keys", AUTH_ADMIN, true, api_release_keys_post,
	    "release_keys" },
	/* Releases nodes refuse to install or start. */
	{ "GET", "/v1/release-revocations", AUTH_NODE_OR_VIEWER, false,
	    api_release_revocations_get, "release_revocations" },
	{ "POST", "/v1/release-revocations", AUTH_ADMIN, true,
	    api_release_revocations_post, "release_revocations" },
	/* Also serves "{version}.minisig": the matcher has no suffixes. */
	{ "GET", "/v1/artifacts/{}/{}", AUTH_NODE_OR_VIEWER, false,
	    api_artifacts_get, "artifact" },
	{ "GET", "/v1/rollouts", AUTH_VIEWER, false, api_rollouts_list,
	    "rollouts" },
	{ "POST", "/v1/rollouts", AUTH_OPERATOR, true, api_rollouts_create,
	    "rollouts" },
	{ "GET", "/v1/rollouts/{}", AUTH_VIEWER, false, api_rollouts_show,
	    "rollout" },
	{ "POST", "/v1/rollouts/{}/abort", AUTH_OPERATOR, false,
	    api_rollouts_abort, "rollout_abort" },
	{ "POST", "/v1/rollouts/{}/pause", AUTH_OPERATOR, false,
	    api_rollouts_pause, "rollout_pause" },
	{ "POST", "/v1/rollouts/{}/resume", AUTH_OPERATOR, false,
	    api_rollouts_resume, "rollout_resume" },
	{ "POST", "/v1/rollouts/{}/promote", AUTH_OPERATOR, false,
	    api_rollouts_promote, "rollout_promote" },
	{ "POST", "/v1/freeze", AUTH_OPERATOR, false, api_freeze, "freeze" },
	{ "DELETE", "/v1/freeze", AUTH_OPERATOR, false, api_freeze, "freeze" },
	{ "GET", "/v1/events", AUTH_VIEWER, false, api_events, "events" },
	{ "GET", "/v1/events/stream", AUTH_VIEWER, false, api_events_stream,
	    "events_stream" },
};

const size_t server_nroutes = ARRAY_LEN(server_routes);

/*
 * keeper: edge-keeper's shared pieces.
 *
 * Files (every path below is prefixed with --root, "" on a real host):
 *	/etc/edge-keeper/keeper.conf	key=value: server, pin, node_id,
 *					interval_s, metrics, tool_path, trial_s,
 *					user, write_allow, dataplane_user
 *	/var/lib/edge-keeper/node.key	the node's Ed25519 secret key (0600)
 *	/var/lib/edge-keeper/release.pub  the release key pinned at
 *					enrollment (minisign format)
 *	/var/lib/edge-keeper/state.pub	edge-cp's desired-state signing key,
 *					pinned at enrollment (keeper/trust.h)
 *	/var/lib/edge-keeper/desired.json the last good desired state
 *	/var/lib/edge-keeper/last-pass.json the last pass, for `status`
 *	/var/lib/edge-keeper/run.lock	flock'd by the one `run` (its pid)
 *
 * keeper.conf is written last at enrollment: it is the commit point, so a
 * node with a config is a node with a key.
 */
#ifndef EF_KEEPER_H
#define EF_KEEPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cpclient.h"

#define KEEPER_PATH_MAX 1024
/*
 * Who the unprivileged part of `run` runs as (keeper/privsep.h); when
 * there is no such user, nobody.  "root" keeps everything in one process.
 */
#define KEEPER_USER "edge-keeper"
/*
 * Who edge-dp runs as when the profile's dataplane step names no user
 * (steps/dataplane.c); "root" keeps it root.  The package and the
 * bootstrap line make this user.
 */
#define KEEPER_DP_USER "edge-dp"

struct keeper_conf {
	char root[512];
	char server[CP_URL_MAX];
	char pin[CP_PIN_MAX];
	char node_id[CP_ID_MAX];
	int64_t interval_s;  /* default 5; edge-cp's desired state may say */
	char metrics[64];    /* "127.0.0.1:9464", or "off" */
	char tool_path[512]; /* search path for external commands */
	int64_t trial_s;     /* a new keeper's bound to report, default 120 */
	char user[64];       /* the unprivileged part's, KEEPER_USER */
	char dp_user[64];    /* dataplane_user: edge-dp's, KEEPER_DP_USER */
	/*
	 * Where the privileged part writes for the Steps: comma-separated
	 * absolute paths, a directory when it ends in "/" (with all under
	 * it), else one file; the keeper's own /var/lib/edge-keeper/ always.
	 * Empty: anywhere but the trust anchors (keeper/privsep.h).
	 */
	char write_allow[1024];
};

/* root + path into out; fatal if it does not fit (paths are ours). */
void keeper_path(
    const struct keeper_conf *c, const char *path, char *out, size_t len);

/*
 * Read keeper.conf (defaults for what it does not say).  -1 with err when
 * it is missing or malformed; errno ENOENT when there is no file.
 */
int keeper_conf_load(struct keeper_conf *c, char *err, size_t errlen);
int keeper_conf_save(const struct keeper_conf *c, char *err, size_t errlen);

/* The node's secret key, read from node.key; wipe it when done. */
int keeper_key_load(const struct keeper_conf *c,
    unsigned char sk[crypto_sign_SECRETKEYBYTES], char *err, size_t errlen);
int keeper_key_save(const struct keeper_conf *c,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES], char *err,
    size_t errlen);

/*
 * What enrollment leaves on the node, in this order: node.key, release.pub
 * (the release key, rkey), then keeper.conf, the commit point.  Whatever
 * write fails, and wherever the process is killed, a keeper.conf is never
 * there without the node.key and release.pub of the same enrollment.  0,
 * or -1 with err (the node is then not enrolled unless only the last
 * directory fsync failed; enrolling again writes everything anew).
 */
int keeper_enroll_save(const struct keeper_conf *c,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES], const char *rkey,
    char *err, size_t errlen);

/* Create the keeper's directories under root (0755 / 0700 for state). */
int keeper_dirs(const struct keeper_conf *c, char *err, size_t errlen);
/*
 * Remove what afile_write() calls killed midway left behind (afile.h:
 * afile_sweep) in the keeper's own directories: /etc/edge-keeper,
 * /var/lib/edge-keeper and its dataplane/ and keeper/.  At the start of
 * `enroll` and `run`.
 */
void keeper_sweep(const struct keeper_conf *c);

/* Subcommands (keeper/enroll.c; run, check and status in keeper/run.c). */
int keeper_enroll_main(struct keeper_conf *c, int argc, char **argv);
int keeper_run_main(struct keeper_conf *c, int argc, char **argv);
int keeper_check_main(struct keeper_conf *c, int argc, char **argv);
int keeper_status_main(struct keeper_conf *c, int argc, char **argv);

#endif

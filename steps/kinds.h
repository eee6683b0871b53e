/*
 * kinds: the Step kinds implemented in steps/, one file each, and the few
 * helpers they share (steps/step.c).  Callers outside steps/ use the
 * table step_kinds[] and step_kind_find() from steps/step.h; the named
 * kinds are here for tests and for the table in steps/kinds.c.
 */
#ifndef EF_STEPS_KINDS_H
#define EF_STEPS_KINDS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "steps/step.h"

extern const struct step_kind step_sysctl;
extern const struct step_kind step_file;
extern const struct step_kind step_apt_package;
extern const struct step_kind step_disable_unattended_upgrades;
extern const struct step_kind step_systemd_unit;
extern const struct step_kind step_dataplane;
extern const struct step_kind step_bird_config;
extern const struct step_kind step_anycast;
extern const struct step_kind step_keeper_self;

/*
 * The BIRD include for a POP's validated "bgp" section (NULL: none), this
 * node's router id and drain flag, announcing what the direct protocol
 * finds on iface.  Deterministic: the same inputs give the same bytes.
 * *out is malloc'd (length *len); 0, or -1 with err (no router id while
 * there are neighbours, or a router id that is an anycast address).
 */
int bird_render(const json_t *bgp, const char *router_id, bool drain,
    const char *iface, char **out, size_t *len, char *err, size_t errlen);
/* The BGP protocol's name for a "neighbors" entry: ef_peer_<name|addr>. */
void bird_peer_name(const json_t *neighbor, char *out, size_t len);
/* A bird_config step's control socket (a host path, before the root). */
const char *bird_socket(const void *params);

/*
 * The version of the edge-dp a dataplane step's params point at, asked on
 * its control socket; -1 when none answers.  While one hands over to a
 * successor, the successor's version (it takes the connections).
 */
int step_dataplane_running(const void *params, const struct step_env *env,
    char *version, size_t len, bool *draining);

/*
 * Helpers for the kinds only.
 *
 * step_mkdirs() creates the absolute host directory dir and any missing
 * parent below env->root with mode (the root itself must exist).  Returns
 * 0, or -1 with errno set (ENOTDIR when a component is not a directory).
 *
 * step_oneline() copies s into buf (size len) as one line for a reason:
 * runs of white space become one space, the ends are trimmed, and "..."
 * marks a cut.  Returns buf.
 */
int step_mkdirs(const struct step_env *env, const char *dir, mode_t mode);
const char *step_oneline(char *buf, size_t len, const char *s);

#endif

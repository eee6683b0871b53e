/*
 * kinds: the Step kinds implemented in steps/, one file each, and the few
 * helpers they share (steps/step.c).  Callers outside steps/ use the
 * table step_kinds[] and step_kind_find() from steps/step.h; the named
 * kinds are here for tests and for the table in steps/kinds.c.
 *
 * Kinds the profile may name that later work implements (bird_config,
 * anycast, dataplane, keeper_self) are not in the table yet, so a keeper
 * refuses a document that uses them instead of pretending to apply it.
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

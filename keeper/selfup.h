/*
 * selfup: the keeper updating itself (the keeper_self step, SPEC §5).
 *
 * Files, under /var/lib/edge-keeper/keeper/ (and --root):
 *	<version>/edge-keeper	a release, with edge-keeper.minisig beside it
 *	current			symlink to the <version> directory to run
 *	trial			"VERSION DEADLINE PREVIOUS\n" while a new
 *				version is on trial (PREVIOUS: the binary to
 *				go back to)
 *	<version>.failed	that version failed its trial: not again
 *
 * A trial:
 *
 *	keeper A, target B ─fetch + verify B─▶ write trial, current → B,
 *	   start the watchdog (a fresh `edge-keeper watchdog` of A's binary),
 *	   exec B in place (same pid: the dataplane and the anycast
 *	   addresses are not touched)
 *	B runs ─first report edge-cp accepts─▶ commit: trial removed; the
 *	   watchdog sees it gone and exits
 *	B exits, hangs, or has not reported by the deadline (trial_s in
 *	   keeper.conf, default SELFUP_TRIAL_S) ─▶
 *	   the watchdog: B killed, B.failed written, current → A, then
 *	   A runs again: exec'd by the watchdog itself, or, under systemd,
 *	   started by the unit's restart (the unit's binary follows current)
 *
 * At the start of `run` a keeper whose binary is not what current points
 * at (a reboot after an update: the unit starts the packaged binary)
 * verifies current's binary against the pinned release key and execs it,
 * so a node comes back on the version it last committed.  A trial that
 * names another version than current does was never begun (the keeper
 * died between writing it and switching current): it is removed there.
 *
 * The step (steps/keeper_self.c) is in sync when the running version is
 * the desired one; a target that failed its trial is an error that says
 * so until the target changes.  Checked at most every 60 s.
 */
#ifndef EF_KEEPER_SELFUP_H
#define EF_KEEPER_SELFUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/keeper.h"

#define SELFUP_DIR "/var/lib/edge-keeper/keeper"
#define SELFUP_TRIAL_S 120

/* argv of this process, for the re-exec (set by main). */
extern char **selfup_argv;

/*
 * Switch to the installed binary of version (SELFUP_DIR/<version>/
 * edge-keeper, verified by the caller): write the trial, point current
 * at it, start the watchdog.  The caller then calls selfup_exec().
 * 0, or -1 with err and nothing changed.
 */
int selfup_begin(
    const struct keeper_conf *c, const char *version, char *err, size_t errlen);
/* exec the binary current points at with selfup_argv; returns on failure. */
void selfup_exec(const struct keeper_conf *c);
/* A report was accepted: end a trial of the running version. */
void selfup_commit(const struct keeper_conf *c);
/* version failed its trial here. */
bool selfup_failed(const struct keeper_conf *c, const char *version);
/*
 * At the start of `run`: when current names another binary than this
 * one and no trial is open, exec it (verify is the release check).
 * Returns when there is nothing to do or it cannot.
 */
void selfup_launch(const struct keeper_conf *c,
    int (*verify)(
	const char *path, const char *version, char *err, size_t errlen));

/* `edge-keeper watchdog PID`: guard the trial of the keeper at PID. */
int keeper_watchdog_main(struct keeper_conf *c, int argc, char **argv);

#endif

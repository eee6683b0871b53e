/*
 * dpopts: the fingerprint of the options an edge-dp was started with,
 * which edge-dp reports in its status ("options") and the keeper's
 * dataplane step compares with the options it would start it with: a
 * profile that changes a listen address, the worker count, the health
 * listener, the drain timeout or the user moves a running edge-dp of the
 * same version to a successor with the new options, by takeover.
 *
 * The fingerprint covers argv[1..] in order, each with its terminating
 * NUL, but for what says how a process was started rather than what it
 * is: --takeover and --ready-fd N (--ready-fd=N).  BLAKE2b (libsodium's
 * generic hash), 8 bytes, in hex: it tells configurations apart, no
 * adversary picks them.
 */
#ifndef EF_DPOPTS_H
#define EF_DPOPTS_H

#define DPOPTS_HEX 17 /* 16 hex digits and a NUL */

/* argv NULL-terminated, argv[0] the program (not covered). */
void dpopts_fingerprint(const char *const *argv, char out[DPOPTS_HEX]);

#endif

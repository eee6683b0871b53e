/*
 * serve: `edge-cp serve`, the long-running control plane.  Returns the
 * process exit status; exits through fatal() when start-up fails.
 */
#ifndef EF_SERVE_H
#define EF_SERVE_H

int serve_main(int argc, char **argv);

#endif

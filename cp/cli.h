/*
 * cli: the operator CLI, `edge-cp <noun> <verb> ...`, a client of the
 * HTTP API (common/httpc).  Where to connect:
 *	--server URL / EDGE_CP_URL and --token T / EDGE_CP_TOKEN, with
 *	--pin sha256//... / EDGE_CP_PIN to pin the certificate; or, with
 *	neither, the local --data-dir (default /var/lib/edge-cp): its
 *	server.url, admin.token and tls.crt.
 * Output: human tables, or the API's JSON with -o json.
 * Exit: 0 success, 1 API or connection error (message on stderr),
 * 2 usage error.
 */
#ifndef EF_CLI_H
#define EF_CLI_H

int cli_main(int argc, char **argv);

#endif

/*
 * kmetrics: edge-keeper's Prometheus endpoint on 127.0.0.1 (default port
 * 9464).  One small thread answers "GET /metrics" with the text the loop
 * last published; anything else gets 404.  It reads at most 1 KiB of a
 * request and gives a client 2 s, so a stuck scraper cannot hold it.
 *
 * kmetrics_publish() copies the text under a mutex; called by the loop
 * after each pass.
 */
#ifndef EF_KEEPER_METRICS_H
#define EF_KEEPER_METRICS_H

#include <stddef.h>

/* addr: "127.0.0.1:PORT".  -1 with err when it cannot listen. */
int kmetrics_start(const char *addr, char *err, size_t errlen);
void kmetrics_publish(const char *text, size_t len);
void kmetrics_stop(void);

#endif

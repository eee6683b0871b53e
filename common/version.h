/*
 * version: the version string stamped by `make VERSION=x.y.z`.
 */
#ifndef EF_VERSION_H
#define EF_VERSION_H

extern const char ef_version[];

#endif

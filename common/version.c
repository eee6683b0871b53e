#include "common/version.h"

#include "ef_build_version.h"

const char ef_version[] = EF_VERSION;

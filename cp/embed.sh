#!/bin/sh
# Turns files into a C array of { name, bytes, length } so edge-cp carries
# its schema migrations (and later its dashboard) inside the binary.
# Usage: embed.sh FILE... > embedded.c
set -eu
echo '#include <stddef.h>'
echo '#include "cp/embedded.h"'
i=0
for f in "$@"; do
	printf 'static const unsigned char embed_%d[] = {\n' "$i"
	od -An -v -tx1 "$f" | awk '{ for (i = 1; i <= NF; i++) printf "0x%s,", $i; printf "\n" }'
	echo '0x00 };'
	i=$((i + 1))
done
echo 'const struct embedded_file embedded_files[] = {'
i=0
for f in "$@"; do
	printf '\t{ "%s", embed_%d, sizeof(embed_%d) - 1 },\n' "$f" "$i" "$i"
	i=$((i + 1))
done
echo '	{ NULL, NULL, 0 }'
echo '};'

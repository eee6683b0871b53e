#!/bin/sh
# docs/api.md stays true: every documented route answers (not "no such
# endpoint", not 405), and every route in cp/routes.c is documented.
. "$(dirname "$0")/lib.sh"
setup cpdocs
start_cp "$T_DIR/cp" || { fail "edge-cp starts"; finish; exit 1; }

grep '^### ' "$EF_TOP/docs/api.md" | awk '{print $2, $3}' >"$T_DIR/doc"
sed -n 's/^[[:space:]]*{ "\([A-Z]*\)", "\([^"]*\)".*/\1 \2/p' \
    "$EF_TOP/cp/routes.c" | sed 's/{}/{x}/g' >"$T_DIR/code"
sed 's/{[a-z]*}/{x}/g' "$T_DIR/doc" | sort -u >"$T_DIR/doc.norm"
sort -u "$T_DIR/code" >"$T_DIR/code.norm"
missing=$(comm -13 "$T_DIR/doc.norm" "$T_DIR/code.norm" | tr '\n' ';')
expect_eq "every route is documented" "$missing" ""

while read -r method path; do
	p=$(echo "$path" | sed 's/{[a-z]*}/x1/g')
	# (a stream answers and stays open: its headers are enough)
	code=$(curl -sk --max-time 3 --pinnedpubkey "$CP_PIN" -o "$T_DIR/r" -w '%{http_code}' \
	    -X "$method" -H "Authorization: Bearer $CP_TOKEN" \
	    -H 'Content-Type: application/json' \
	    $( [ "$method" = GET ] || [ "$method" = DELETE ] || echo "--data-binary {}" ) \
	    "$CP_URL$p")
	if [ "$code" = 405 ] || grep -q 'no such endpoint' "$T_DIR/r"; then
		fail "documented $method $path exists" "$code $(cat "$T_DIR/r")"
	else
		ok "documented $method $path exists"
	fi
done <"$T_DIR/doc"
finish

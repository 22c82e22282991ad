#!/bin/sh
# Writes tests/unit/unit.am, the automake stanzas of the unit tests: every tests/unit/test_*.c
# is a test, built twice, plain and with ASan + UBSan (against the sanitized library).
# autogen.sh runs it; a new test is a new file and ./autogen.sh, nothing to edit.
set -e
cd "$(dirname "$0")/../.."
out=tests/unit/unit.am
{
	echo "# Made by tests/unit/unit-am.sh from the tests/unit/test_*.c files: do not edit."
	printf 'SK_UNIT ='
	for f in tests/unit/test_*.c; do printf ' \\\n\t%s' "${f%.c}"; done
	printf '\n'
	for f in tests/unit/test_*.c; do
		v=$(printf '%s' "${f%.c}" | tr '/.-' '___')
		cat <<STANZA

${v}_SOURCES = $f tests/unit/unit.h
${v}_CFLAGS = \$(SK_UNIT_CFLAGS)
${v}_LDADD = \$(SK_UNIT_LDADD)
${v}_san_SOURCES = \$(${v}_SOURCES)
${v}_san_CFLAGS = \$(SK_UNIT_SAN_CFLAGS)
${v}_san_LDADD = \$(SK_UNIT_SAN_LDADD)
${v}_san_LDFLAGS = \$(SK_SANITIZE_LINK)
STANZA
	done
} >"$out.tmp"
mv -f "$out.tmp" "$out"

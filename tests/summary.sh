#!/bin/sh
# Sums the results of every test case of every test program (the .trs files the test driver
# wrote) into the one closing line CI reads: "N passed, N failed".
dir=${1:-.}
find "$dir" -name '*.trs' -exec cat {} + 2>/dev/null | awk '
	/^:test-result: (PASS|XFAIL)/ { pass++ }
	/^:test-result: (FAIL|XPASS|ERROR)/ { fail++ }
	/^:test-result: SKIP/ { skip++ }
	END {
		line = sprintf("%d passed, %d failed", pass, fail)
		if (skip) line = line sprintf(", %d skipped", skip)
		print line
	}'

#!/bin/sh
# Runs every fuzz target built by build.sh: first every input of its kept
# corpus (tests/fuzz/corpus/TARGET) once, as a regression test, then
# SECONDS of fuzzing over a copy of it (nothing is written back into the
# source tree).  Crash
# inputs are kept in OUTDIR/artifacts/.
#   tests/fuzz/run.sh OUTDIR SECONDS
# Prints one line per target and last "fuzz: N passed, M failed"; exits 1
# when any target failed (or none was found).
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 OUTDIR SECONDS" >&2
	exit 64
fi
out=$(cd "$1" && pwd) || exit 64
secs=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/gb-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

passed=0
failed=0
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

for t in fuzz_query fuzz_path fuzz_request fuzz_json_body fuzz_traceparent fuzz_redis_url fuzz_jwt \
	fuzz_plugin fuzz_clientip fuzz_llm fuzz_llm_stream fuzz_task_msg fuzz_schema fuzz_filter; do
	bin=$out/$t
	if [ ! -x "$bin" ]; then
		echo "$t: FAILED (not built: run tests/fuzz/build.sh $out)"
		failed=$((failed + 1))
		continue
	fi
	case $t in
	fuzz_query) maxlen=9000 ;;        # past GB_QUERY_MAX
	fuzz_path) maxlen=4200 ;;         # past GB_PATH_MAX
	fuzz_request) maxlen=12000 ;;
	fuzz_jwt) maxlen=5000 ;;         # past GB_JWT_MAX
	fuzz_plugin) maxlen=8192 ;;
	fuzz_clientip) maxlen=10000 ;;   # past GB_XFF_MAX
	fuzz_task_msg) maxlen=256 ;;     # past GB_TASK_MSG_MAX
	fuzz_schema) maxlen=8192 ;;
	fuzz_filter) maxlen=9000 ;;      # past GB_QUERY_MAX
	*) maxlen=4096 ;;
	esac
	mkdir -p "$work/$t" "$out/artifacts/$t"
	if [ -d "$here/corpus/$t" ]; then
		cp "$here/corpus/$t/"* "$work/$t/" 2>/dev/null
	fi
	log=$out/artifacts/$t.log
	# The kept corpus first, every input once: a regression test of its own
	# (an input that once crashed a target stays in its corpus).
	if [ -d "$here/corpus/$t" ] && ! "$bin" -runs=0 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$out/artifacts/$t/" "$here/corpus/$t" >"$log.replay" 2>&1; then
		echo "$t: FAILED replaying tests/fuzz/corpus/$t (log $log.replay)"
		grep -E 'ERROR: |runtime error|SUMMARY|Test unit written' "$log.replay" | head -n 5 | sed 's/^/  /'
		failed=$((failed + 1))
		continue
	fi
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$maxlen" \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$t/" \
		"$work/$t" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		echo "$t: passed (${runs:-?} runs in ${secs}s)"
		passed=$((passed + 1))
	else
		echo "$t: FAILED (exit $rc; log $log; inputs in $out/artifacts/$t/)"
		grep -E 'ERROR: |runtime error|SUMMARY|Test unit written' "$log" | head -n 5 | sed 's/^/  /'
		failed=$((failed + 1))
	fi
done

echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]

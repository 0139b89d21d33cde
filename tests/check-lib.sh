# shellcheck shell=bash
# make check's parts count their tests the same way: tests/check (the
# foreground) and tests/check-debug (the debug kernel, in the background)
# source this.  Needs $work; keeps the counts in $passed and $failed.

add_counts() {
	local p=0 f=1
	[ -s "$1" ] && read -r p f < "$1"
	passed=$((passed + p))
	failed=$((failed + f))
}

# phase NAME COMMAND...: a part that counts its own tests (into $RESULTS);
# a part that writes no counts counts as one failure.  Its time goes into
# the summary at the end.
phase() {
	local name=$1 t0=$SECONDS
	shift
	RESULTS=$work/$name.counts "$@" | tee "$work/$name.out"
	add_counts "$work/$name.counts"
	# the failures by name, repeated at the end where CI's tail shows them
	grep -a ': FAIL' "$work/$name.out" | sed "s/^/[$name] /" >> "$work/failures"
	echo "$name: $((SECONDS - t0))s" >> "$work/times"
}

# step NAME COMMAND...: a step that is one test of its own.  A step that
# fails without printing a word is reported as such (check scripts call
# check_says_why from tests/vm/lib.sh so that this never happens).
step() {
	local name=$1 rc=0
	shift
	local t0=$SECONDS
	"$@" > "$work/$name.log" 2>&1 || rc=$?
	echo "$name: $((SECONDS - t0))s" >> "$work/times"
	if [ "$rc" -eq 0 ]; then
		echo "check: PASS $name"
		passed=$((passed + 1))
	else
		[ -s "$work/$name.log" ] ||
			echo "$name: exited with status $rc and printed nothing (a check must say why it failed)" > "$work/$name.log"
		echo "check: FAIL $name (log: $work/$name.log)" |
			tee -a "$work/failures"
		tail -30 "$work/$name.log" | sed 's/^/    | /'
		failed=$((failed + 1))
	fi
}

#!/bin/sh
# Fails when libgerbang exports a defined dynamic symbol that does not start
# with gb_ (DESIGN.md: export only gb_*).  Run by `make check`, which sets
# abs_top_builddir; by hand: abs_top_builddir=/path/to/build tests/unit/exports.sh
set -u

top=${abs_top_builddir:-.}
lib=$top/lib/.libs/libgerbang.so

if [ ! -f "$lib" ]; then
	echo "exports: $lib not found (build the library first)" >&2
	exit 99
fi
if ! command -v nm >/dev/null 2>&1; then
	echo "exports: nm not found" >&2
	exit 99
fi

syms=$(nm -D --defined-only "$lib") || {
	echo "exports: nm -D failed on $lib" >&2
	exit 99
}

# Lines are "ADDRESS TYPE NAME".  A (absolute) symbols are version nodes;
# the rest of the ignored names are the linker's own.
bad=$(printf '%s\n' "$syms" | awk '
	NF >= 3 && $2 != "A" {
		name = $3
		sub(/@.*/, "", name)
		if (name ~ /^gb_/)
			next
		if (name ~ /^(_init|_fini|_edata|_end|__bss_start|_DYNAMIC|_GLOBAL_OFFSET_TABLE_)$/)
			next
		print
	}')

count=$(printf '%s\n' "$syms" | awk 'NF >= 3 && $3 ~ /^gb_/' | wc -l)

if [ -n "$bad" ]; then
	echo "exports: $lib exports symbols outside gb_*:"
	printf '%s\n' "$bad"
	exit 1
fi
if [ "$count" -eq 0 ]; then
	echo "exports: $lib exports no gb_* symbol at all" >&2
	exit 1
fi
echo "exports: $count gb_* symbols, nothing else"
exit 0

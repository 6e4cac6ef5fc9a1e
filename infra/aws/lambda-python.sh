#!/bin/sh
# Prints the path of a Python interpreter of version $1 (for example 3.12), or nothing when
# there is none: `python$1` if it runs, otherwise a pyenv installation of that version.
want="$1"
check="import sys; sys.exit(sys.version_info[:2] != tuple(int(n) for n in '$want'.split('.')))"
for candidate in "python$want" "$(pyenv root 2>/dev/null)"/versions/"$want".*/bin/python; do
	if "$candidate" -c "$check" >/dev/null 2>&1; then
		command -v "$candidate"
		exit 0
	fi
done

#!/usr/bin/env bash
# Runs every test: builds the solution in Release and runs the Expecto test program.
# Prints the failures and the counts; `./test.sh --summary` also lists every passed test.
# The last line printed is `Tests: N passed, N failed, N skipped`; the exit code is non-zero on any failure.
# No escape codes when the output is not a terminal or NO_COLOR is set.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build Dsl.sln -c Release -nologo -v quiet
# Expecto's console logger pads the last line with blanks when the process exits; strip trailing blanks.
dotnet run --project tests/Tests.fsproj -c Release --no-build -- "$@" | sed -u 's/[[:space:]]*$//'

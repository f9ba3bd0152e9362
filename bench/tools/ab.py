#!/usr/bin/env python3
"""Whole-process A/B timing of commands, alternating (A B A B ...) so both see the same load (issue #18).

    bench/tools/ab.py ROUNDS CWD 'A=/path/to/old/nn --version' 'B=/path/to/new/nn --version' ...

Each round runs every command once (after one unmeasured warm-up round), standard output to /dev/null; it prints per
command the median and minimum of the wall time (spawn to exit) and of the CPU time (user + system, from wait4), and
the load average. A command that fails stops it."""
import os
import statistics
import sys
import time

rounds, cwd = int(sys.argv[1]), sys.argv[2]
commands = [(a.split("=", 1)[0], a.split("=", 1)[1].split()) for a in sys.argv[3:]]
results = {label: ([], []) for label, _ in commands}
devnull = os.open(os.devnull, os.O_WRONLY)
os.chdir(cwd)
for r in range(rounds + 1):
    for label, argv in commands:
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
        _, status, usage = os.wait4(pid, 0)
        t1 = time.perf_counter()
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{label}: exit code {os.waitstatus_to_exitcode(status)}")
        if r:
            results[label][0].append((t1 - t0) * 1e3)
            results[label][1].append((usage.ru_utime + usage.ru_stime) * 1e3)
print(f"{rounds} rounds, load average {os.getloadavg()[0]:.1f}")
for label, (wall, cpu) in results.items():
    print(f"  {label:12s} wall median {statistics.median(wall):7.2f} min {min(wall):7.2f} ms | "
          f"CPU median {statistics.median(cpu):7.2f} min {min(cpu):7.2f} ms")

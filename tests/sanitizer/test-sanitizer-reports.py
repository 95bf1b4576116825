#!/usr/bin/env python3
# .ci/sanitizer-reports, tested on log folders made here: what it counts as a report, what it
# only prints (LeakSanitizer's lone notice of a thread it could not stop), and which leak
# reports it sends back for a second run (a leak beside that notice, in a test it can name)
# instead of counting them. Whatever else a file holds makes it a report.
#
#   test-sanitizer-reports.py SANITIZER-REPORTS BUILDDIR      (TAP on standard output)
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
import json, os, subprocess, sys, tempfile

tool, builddir = sys.argv[1:]
tests = json.loads(subprocess.run(["meson", "introspect", "--tests", builddir],
                                  capture_output=True, text=True, check=True).stdout)
# Any test of this build: the tool names a report's test from its command line.
known = tests[0]

NOTICE = "==prog==4242==Running thread 4250 was not suspended. False leaks are possible.\n"
LEAK = ("=================================================================\n"
        "==prog==4241==ERROR: LeakSanitizer: detected memory leaks\n\n"
        "Direct leak of 16 byte(s) in 1 object(s) allocated from:\n"
        "    #0 0x7f63732b83b7 in __interceptor_calloc\n"
        "    #1 0x7f63731216b0 in g_malloc0 (/lib/x86_64-linux-gnu/libglib-2.0.so.0+0x5a6b0)\n\n"
        "SUMMARY: AddressSanitizer: 16 byte(s) leaked in 1 allocation(s).\n")
OVERFLOW = ("=================================================================\n"
            "==prog==4241==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6020\n"
            "SUMMARY: AddressSanitizer: heap-buffer-overflow in pl_pcp_parse\n")

cases = [
    # (what, file name, its text, with a test's command beside it, SUSPECTS given,
    #  exit status, counted as a report, sent back)
    ("the notice alone is printed, not counted", "asan.prog.4242", NOTICE, True, True, 0, False, False),
    ("a leak beside the notice is run again", "asan.prog.4241", NOTICE + LEAK, True, True, 0, False, True),
    ("a leak without the notice is a report", "asan.prog.4241", LEAK, True, True, 1, True, False),
    ("another error beside the notice is a report", "asan.prog.4241", NOTICE + OVERFLOW + LEAK, True, True, 1, True, False),
    ("a leak beside the notice with no test to run again is a report", "asan.prog.4241", NOTICE + LEAK, False, True, 1, True, False),
    ("a leak beside the notice is a report when no second run is asked for", "asan.prog.4241", NOTICE + LEAK, True, False, 1, True, False),
    ("UndefinedBehaviorSanitizer's file is a report", "ubsan.prog.4241", NOTICE + "core/pcp/pl-pcp.c:10:5: runtime error: shift\n", True, True, 1, True, False),
]

print(f"1..{len(cases)}")
failed = 0
for number, (what, filename, text, with_command, with_suspects, want_status, want_report, want_again) in enumerate(cases, 1):
    with tempfile.TemporaryDirectory() as logs:
        folder = os.path.join(logs, "test.abc123")
        os.mkdir(folder)
        if with_command:
            with open(os.path.join(folder, "command"), "wb") as f:
                f.write(b"".join(arg.encode() + b"\0" for arg in known["cmd"]))
        with open(os.path.join(folder, filename), "w") as f:
            f.write(text)
        suspects = os.path.join(logs, "suspects")
        argv = [tool, logs, builddir] + ([suspects] if with_suspects else [])
        run = subprocess.run(argv, capture_output=True, text=True)
        again = open(suspects).read().split() if os.path.exists(suspects) else []
        problems = []
        if run.returncode != want_status:
            problems.append(f"exit status {run.returncode}, wanted {want_status}")
        if ("=== sanitizer report 1:" in run.stdout) != want_report:
            problems.append("counted as a report" if not want_report else "not counted as a report")
        if (again == [known["name"]]) != want_again or (not want_again and again):
            problems.append(f"sent back for a second run: {again}")
        if text not in run.stdout:
            problems.append("the file's text is not printed")
        if problems:
            failed += 1
            print(f"not ok {number} - {what}")
            for p in problems:
                print(f"# {p}")
            for line in (run.stdout + run.stderr).splitlines():
                print(f"# | {line}")
        else:
            print(f"ok {number} - {what}")
sys.exit(1 if failed else 0)

#!/usr/bin/env python3
"""Splits a perf profile of a .NET process by the component that caused each sample.

Reads `perf script -F comm,tid,ip,sym,dso` output. Each sample is charged to the leaf-most frame of a
named component (the engine client, Polly, HttpClient's HTTP/2 or HTTP/1.1 code, YARP, Kestrel, the
session pipeline...); CoreLib, libc, the runtime and the kernel are charged to the component that called
them, so "kernel under the engine client" is the system calls the engine calls cost. Samples with no
component frame (GC threads, the socket engine's epoll loop, idle thread-pool spinning) stay "runtime".
Usage: perf-owners.py perf-script.txt
"""
import collections
import re
import sys

COMPONENTS = [
    ("session pipeline", re.compile(r"\[SessionRouter\.(Gateway|Core)\]")),
    ("engine client", re.compile(r"\[SessionRouter\.StateServer\.(Client|Wire)\]")),
    ("Polly / resilience", re.compile(r"\[Polly\.Core\]|\[Microsoft\.Extensions\.Http\.Resilience\]|\[Microsoft\.Extensions\.Resilience\]")),
    ("HttpClient HTTP/2", re.compile(r"Http2Connection|Http2Stream|HPack")),
    ("HttpClient diagnostics", re.compile(r"DiagnosticsHandler|\[System\.Diagnostics\.DiagnosticSource\]")),
    ("HttpClient HTTP/1.1 + common", re.compile(r"\[System\.Net\.Http\]")),
    ("YARP", re.compile(r"\[Yarp\.ReverseProxy\]")),
    ("DataProtection", re.compile(r"DataProtection")),
    ("logging", re.compile(r"\[Microsoft\.Extensions\.Logging")),
    ("Kestrel", re.compile(r"Kestrel")),
    ("ASP.NET Core other", re.compile(r"\[Microsoft\.AspNetCore")),
    ("sockets", re.compile(r"\[System\.Net\.Sockets\]")),
]


def samples(path):
    frames = []
    for line in open(path, errors="replace"):
        if not line.strip():
            if frames:
                yield frames
            frames = []
        elif line.startswith(("\t", " ")):
            frames.append(line.strip())
    if frames:
        yield frames


def main():
    owners = collections.Counter()
    kinds = collections.Counter()
    total = 0
    for frames in samples(sys.argv[1]):
        total += 1
        owner = "runtime (no component on the stack)"
        for frame in frames:  # leaf first
            hit = next((name for name, pattern in COMPONENTS if pattern.search(frame)), None)
            if hit:
                owner = hit
                break
        leaf = frames[0]
        kind = "kernel" if "kernel.kallsyms" in leaf else ("native" if ".so" in leaf else "managed")
        owners[owner] += 1
        kinds[(owner, kind)] += 1
    print(f"{total} samples")
    for owner, count in owners.most_common():
        split = ", ".join(f"{k} {100 * kinds[(owner, k)] / total:.1f}%" for k in ("managed", "native", "kernel") if kinds[(owner, k)])
        print(f"{100 * count / total:6.1f}%  {owner:38s} ({split})")


if __name__ == "__main__":
    main()

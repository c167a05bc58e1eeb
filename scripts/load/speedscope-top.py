#!/usr/bin/env python3
"""Summarises a dotnet-trace speedscope file: the hottest frames by inclusive and exclusive time.

EventPipe samples every managed thread, busy or blocked, so stacks that are only waiting (thread pool
workers parked on their semaphore, timers, the socket engine in epoll_wait) are left out; what remains
approximates CPU time. Usage: speedscope-top.py FILE [top N, default 45] [frame filter substring]
"""
import collections
import json
import sys

IDLE_MARKERS = (
    "LowLevelLifoSemaphore.WaitForSignal", "LowLevelLifoSemaphore.WaitNative", "WaitHandle.WaitOneNoCheck",
    "Monitor.Wait", "Thread.Sleep", "WaitSubsystem", "LowLevelMonitor.Wait", "PortableThreadPool+GateThread",
    "SocketAsyncEngine.EventLoop", "WaitForSignal", "Console", "EventPipe", "DiagnosticServer",
    "FileSystemWatcher", "Heartbeat.TimerLoop", "ManualResetEventSlim.Wait", "LowLevelLifoSemaphore.Wait",
    "SemaphoreSlim.Wait", "Thread.Join", "TimerQueue.TimerThread",
)
PSEUDO = ("UNMANAGED_CODE_TIME", "CPU_TIME")


def stacks(doc):
    frames = [f["name"] for f in doc["shared"]["frames"]]
    for profile in doc["profiles"]:
        if profile["type"] == "sampled":
            for sample, weight in zip(profile["samples"], profile["weights"]):
                yield [frames[i] for i in sample], weight
        else:  # evented: replay open/close events, weight each stack by the time it stayed on top
            stack, last = [], None
            for event in profile["events"]:
                if stack and last is not None and event["at"] > last:
                    yield [frames[i] for i in stack], event["at"] - last
                last = event["at"]
                if event["type"] == "O":
                    stack.append(event["frame"])
                elif stack:
                    stack.pop()


def is_idle(names):
    # The thread-time sampler ends each stack with a pseudo frame: CPU_TIME (running managed code) or
    # UNMANAGED_CODE_TIME (in native code: a system call such as send, or blocked in a wait).
    return names[-1] != "CPU_TIME" and any(marker in name for name in names for marker in IDLE_MARKERS)


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 45
    only = sys.argv[3] if len(sys.argv) > 3 else None
    doc = json.load(open(path))
    inclusive, exclusive = collections.Counter(), collections.Counter()
    busy = idle = 0.0
    for names, weight in stacks(doc):
        if not names:
            continue
        if is_idle(names):
            idle += weight
            continue
        if only and not any(only in n for n in names):
            continue
        busy += weight
        for name in set(n for n in names if not n.startswith(("Thread (", "Process64", "(Non-Activities)", "Threads"))):
            inclusive[name] += weight
        real = [n for n in names if n not in PSEUDO]
        exclusive[(real[-1] if real else "?") + ("  [native]" if names[-1] == "UNMANAGED_CODE_TIME" else "")] += weight
    print(f"busy samples weight {busy:,.0f} (idle left out: {idle:,.0f})")
    print(f"\n-- inclusive, % of busy --")
    for name, w in inclusive.most_common(top):
        print(f"{100 * w / busy:6.2f}%  {name[:160]}")
    print(f"\n-- exclusive, % of busy --")
    for name, w in exclusive.most_common(top):
        print(f"{100 * w / busy:6.2f}%  {name[:160]}")


if __name__ == "__main__":
    main()

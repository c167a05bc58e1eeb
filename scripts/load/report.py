#!/usr/bin/env python3
"""Renders the figures of a scripts/load/run.sh run: medians per stack and the ratios of the goals in docs/design.md.

Each ratio is taken within a round (stacks of one round ran minutes apart at most), and the median of
the per-round ratios is reported beside the rounds' values: the machine drifts by a third between
rounds, so a ratio of two medians from different rounds would mix that drift in.

Usage: report.py RESULTS.tsv OUT.md PERFORMANCE.md DURATION CONNECTIONS THREADS ROUNDS WARMUP [PACED.tsv PACE_MS]
(run.sh calls it; to re-render a past run: report.py artifacts/load/rounds.tsv artifacts/load/results.md
docs/performance.md 10 64 2 3 20 artifacts/load/paced.tsv 15).

RESULTS.tsv rows: label, req/s, p99 ms, non-2xx, CPU ms per request of the whole stack, the same by process.
PACED.tsv rows: label, req/s, p50 ms, p99 ms, non-2xx of the runs at the common offered load.
"""
import datetime
import os
import re
import statistics
import sys

results, md_out, perf, duration, conns, threads, rounds, warmup = sys.argv[1:9]
paced_path, pace_ms = (sys.argv[9], sys.argv[10]) if len(sys.argv) > 10 else (None, None)
raw = [line.rstrip("\n").split("\t") for line in open(results) if line.strip()]
paced = [line.rstrip("\n").split("\t") for line in open(paced_path) if line.strip()] if paced_path and os.path.exists(paced_path) else []
paced_by_letter = {}
for row in paced:
    paced_by_letter.setdefault(row[0][0], []).append(row)
labels = list(dict.fromkeys(r[0] for r in raw))
per_label = {label: [r for r in raw if r[0] == label] for label in labels}
by_letter = {label[0]: runs for label, runs in per_label.items()}


def median(label, column):
    return statistics.median(float(r[column]) for r in per_label[label])


def round_ratios(x, y, column=1):
    if x not in by_letter or y not in by_letter:
        return []
    return [float(a[column]) / float(b[column]) for a, b in zip(by_letter[x], by_letter[y]) if float(b[column])]


def paced_ratios(x, y, column):
    return [float(a[column]) / float(b[column]) for a, b in zip(paced_by_letter.get(x, []), paced_by_letter.get(y, [])) if float(b[column])]


def ratio_cell(x, y, column=1, ratios=None):
    ratios = round_ratios(x, y, column) if ratios is None else ratios
    if not ratios:
        return "n/a"
    text = f"{statistics.median(ratios):.2f}×"
    return text if len(ratios) == 1 else f"{text} ({' / '.join(f'{r:.2f}' for r in ratios)})"


lines = [
    f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, wrk -t{threads} -c{conns}, "
    f"{duration} s per stack after {warmup} s warm-up, loopback, "
    + ("one round." if rounds == "1" else f"{rounds} interleaved rounds, medians (req/s of each round: see artifacts/load/rounds.tsv)."),
    "",
    "| stack | req/s | p99 (ms) | non-2xx | CPU ms per request: stack (by process, median round) |",
    "|---|---:|---:|---:|---|",
]


def cpu_cell(label):
    runs = [r for r in per_label[label] if len(r) > 5]
    if not runs:
        return "n/a"
    middle = sorted(runs, key=lambda r: float(r[4]))[len(runs) // 2]
    return f"{middle[4]} ({middle[5]})"


for label in labels:
    lines.append(f"| {label} | {median(label, 1):,.0f} | {median(label, 2):.2f} | {sum(int(r[3]) for r in per_label[label])} | {cpu_cell(label)} |")
lines += [
    "",
    "| docs/design.md goal | measured: median of the per-round ratios (each round) | goal |",
    "|---|---:|---|",
    f"| read-write, engine (d) / in-memory session (b) | {ratio_cell('d', 'b')} | ≥ 1.0× |",
    f"| read-write, engine (d) / Redis session (c) | {ratio_cell('d', 'c')} | ≥ 1.5× |",
    f"| read-write, Redis node (g) / Redis session (c) | {ratio_cell('g', 'c')} | ≥ 1.5× |",
    f"| read-only route (e) / plain YARP (a) | {ratio_cell('e', 'a')} | ≥ 0.95× |",
    f"| None route (f) / plain YARP (a) | {ratio_cell('f', 'a')} | ≥ 0.97× |",
    f"| p99 read-write (d) / plain YARP p99 (a), each at saturation | {ratio_cell('d', 'a', 2)} | ≤ 1.5× |",
]
if "i" in by_letter:
    lines += [
        f"| read-write, R = 2 (i) / R = 1 (d) | {ratio_cell('i', 'd')} | ≥ 0.85× |",
        f"| read-write, R = 2 (i) / in-memory session (b) | {ratio_cell('i', 'b')} | ≥ 0.9× |",
    ]
if "j" in by_letter:
    lines += [
        f"| leases: read-write (j) / in-memory session (b) | {ratio_cell('j', 'b')} | ≥ 1.0× |",
        f"| leases: read-only route (k) / plain YARP (a) | {ratio_cell('k', 'a')} | ≥ 0.95× |",
        f"| leases: read-write (j) / Redis session (c) | {ratio_cell('j', 'c')} | ≥ 1.5× |",
        f"| leases: read-write (j) / without leases (d) | {ratio_cell('j', 'd')} | |",
    ]
if "l" in by_letter:
    lines.append(f"| leases: read-write, R = 2 (l) / in-memory session (b) | {ratio_cell('l', 'b')} | ≥ 0.9× |")
if "m" in by_letter:
    lines.append(f"| leases: read-write, Redis node (m) / Redis session (c) | {ratio_cell('m', 'c')} | ≥ 1.5× |")
if "o" in by_letter:
    lines.append(f"| cold, 100,000 sessions: leases (o) / without (n) | {ratio_cell('o', 'n')} | ≥ 0.95× |")
if "p" in by_letter:
    lines += [
        f"| ping-pong: leases (q) / without (p) | {ratio_cell('q', 'p')} | (its cost) |",
        f"| ping-pong: leases without backoff (r) / without (p) | {ratio_cell('r', 'p')} | (its cost) |",
    ]
if paced and "j" in paced_by_letter:
    lines.append(f"| leases: p99 read-write (j) / plain YARP p99 (a), same offered load (paced {pace_ms} ms) | {ratio_cell('j', 'a', ratios=paced_ratios('j', 'a', 3))} | ≤ 1.5× |")
if paced:
    lines.append(f"| p99 read-write (d) / plain YARP p99 (a), same offered load (paced {pace_ms} ms) | {ratio_cell('d', 'a', ratios=paced_ratios('d', 'a', 3))} | ≤ 1.5× |")
    lines += [
        "",
        f"At one common offered load (each of the {conns} connections pauses {pace_ms} ms before every request; medians):",
        "",
        "| stack | req/s | p50 (ms) | p99 (ms) | non-2xx |",
        "|---|---:|---:|---:|---:|",
    ]
    for letter, runs in paced_by_letter.items():
        col = lambda i: statistics.median(float(r[i]) for r in runs)
        lines.append(f"| {runs[0][0]} | {col(1):,.0f} | {col(2):.2f} | {col(3):.2f} | {sum(int(r[4]) for r in runs)} |")
lines += [
    "",
    "The anchors of the goals as this machine measured them in the same rounds (earlier measurements: in-memory",
    "session ~12k against plain YARP ~15-19k req/s, 0.63-0.80; Redis session ~5k, 0.26-0.33):",
    "",
    f"- in-memory session stack (b) / plain YARP (a): {ratio_cell('b', 'a')}",
    f"- Redis session stack (c) / plain YARP (a): {ratio_cell('c', 'a')}; 1.5× the Redis session stack would be "
    + (f"{1.5 * statistics.median(round_ratios('c', 'a')):.2f}× plain YARP without any session" if round_ratios('c', 'a') else "n/a"),
]
if "h" in by_letter:
    lines += [
        f"- ceiling, the gateway's read-write route with the store in its own process (h) / in-memory session (b): "
        f"{ratio_cell('h', 'b')}; the built-in engine route (d) / that ceiling (h): {ratio_cell('d', 'h')}",
    ]
text = "\n".join(lines) + "\n"
open(md_out, "w").write(text)
with open(os.path.join(os.path.dirname(md_out), "rounds.tsv"), "w") as f:
    f.writelines("\t".join(r) + "\n" for r in raw)
if paced:
    with open(os.path.join(os.path.dirname(md_out), "paced.tsv"), "w") as f:
        f.writelines("\t".join(r) + "\n" for r in paced)
print()
print(text)
if os.path.exists(perf):
    doc = open(perf).read()
    new = re.sub(r"(<!-- load:begin -->\n).*?(<!-- load:end -->)", lambda m: m.group(1) + text + m.group(2), doc, flags=re.S)
    open(perf, "w").write(new)

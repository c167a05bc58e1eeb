#!/usr/bin/env python3
"""Renders the figures of a scripts/load/run.sh run: medians per stack and the DESIGN.md §6 ratios.

Each ratio is taken within a round (stacks of one round ran minutes apart at most), and the median of
the per-round ratios is reported beside the rounds' values: the machine drifts by a third between
rounds, so a ratio of two medians from different rounds would mix that drift in.

Usage: report.py RESULTS.tsv OUT.md PERFORMANCE.md DURATION CONNECTIONS THREADS ROUNDS WARMUP
(run.sh calls it; to re-render a past run: report.py artifacts/load/rounds.tsv artifacts/load/results.md
docs/performance.md 8 64 2 3 10).
"""
import datetime
import os
import re
import statistics
import sys

results, md_out, perf, duration, conns, threads, rounds, warmup = sys.argv[1:9]
raw = [line.rstrip("\n").split("\t") for line in open(results) if line.strip()]
labels = list(dict.fromkeys(r[0] for r in raw))
per_label = {label: [r for r in raw if r[0] == label] for label in labels}
by_letter = {label[0]: runs for label, runs in per_label.items()}


def median(label, column):
    return statistics.median(float(r[column]) for r in per_label[label])


def round_ratios(x, y, column=1):
    if x not in by_letter or y not in by_letter:
        return []
    return [float(a[column]) / float(b[column]) for a, b in zip(by_letter[x], by_letter[y]) if float(b[column])]


def ratio_cell(x, y, column=1):
    ratios = round_ratios(x, y, column)
    if not ratios:
        return "n/a"
    text = f"{statistics.median(ratios):.2f}×"
    return text if len(ratios) == 1 else f"{text} ({' / '.join(f'{r:.2f}' for r in ratios)})"


lines = [
    f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, wrk -t{threads} -c{conns}, "
    f"{duration} s per stack after {warmup} s warm-up, loopback, "
    + ("one round." if rounds == "1" else f"{rounds} interleaved rounds, medians (req/s of each round: see artifacts/load/rounds.tsv)."),
    "",
    "| stack | req/s | p99 (ms) | non-2xx |",
    "|---|---:|---:|---:|",
]
for label in labels:
    lines.append(f"| {label} | {median(label, 1):,.0f} | {median(label, 2):.2f} | {sum(int(r[3]) for r in per_label[label])} |")
lines += [
    "",
    "| DESIGN.md §6 row | measured: median of the per-round ratios (each round) | goal |",
    "|---|---:|---|",
    f"| read-write, engine (d) / in-memory session (b) | {ratio_cell('d', 'b')} | ≥ 1.0× |",
    f"| read-write, engine (d) / Redis session (c) | {ratio_cell('d', 'c')} | ≥ 2.5× |",
    f"| read-write, Redis node (g) / Redis session (c) | {ratio_cell('g', 'c')} | ≥ 1.8× |",
    f"| read-only route (e) / plain YARP (a) | {ratio_cell('e', 'a')} | ≥ 0.85× |",
    f"| None route (f) / plain YARP (a) | {ratio_cell('f', 'a')} | ≥ 0.97× |",
    f"| p99 read-write (d) / plain YARP p99 (a) | {ratio_cell('d', 'a', 2)} | ≤ 1.5× |",
]
text = "\n".join(lines) + "\n"
open(md_out, "w").write(text)
with open(os.path.join(os.path.dirname(md_out), "rounds.tsv"), "w") as f:
    f.writelines("\t".join(r) + "\n" for r in raw)
print()
print(text)
if os.path.exists(perf):
    doc = open(perf).read()
    new = re.sub(r"(<!-- load:begin -->\n).*?(<!-- load:end -->)", lambda m: m.group(1) + text + m.group(2), doc, flags=re.S)
    open(perf, "w").write(new)

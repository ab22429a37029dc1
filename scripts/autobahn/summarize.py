#!/usr/bin/env python3
"""Judges Autobahn TestSuite reports and prints their verdicts.

usage: summarize.py REPORT_DIR       judge one run (its index.json): one line per agent, then
                                     each case that falls short and the report file to read
       summarize.py --table OUT_DIR  a Markdown table of verdict counts per runtime and role,
                                     and the section 9 timings, over every run under OUT_DIR
A case passes only when both its verdict and its close verdict are OK or INFORMATIONAL
(strict: NON-STRICT fails). Exit status 1 when a judged run has a failing case or no report.
"""
import collections
import json
import os
import sys

PASSING = ("OK", "INFORMATIONAL")
VERDICTS = ["OK", "INFORMATIONAL", "NON-STRICT", "FAILED", "WRONG CODE", "UNIMPLEMENTED"]


def case_key(case_id):
    return [int(part) for part in case_id.split(".")]


def passes(result):
    return result["behavior"] in PASSING and result["behaviorClose"] in PASSING


def load(report_dir):
    path = os.path.join(report_dir, "index.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def judge(report_dir):
    index = load(report_dir)
    if not index:
        print(f"{report_dir}: no report (index.json missing or empty): wstest did not finish; "
              f"read {os.path.join(report_dir, 'wstest.log')}")
        return 1
    failing = 0
    for agent, results in sorted(index.items()):
        counts = collections.Counter(r["behavior"] for r in results.values())
        short = sorted((c for c, r in results.items() if not passes(r)), key=case_key)
        failing += len(short)
        print(f"{agent}: {len(results)} cases, " + ", ".join(f"{v} {n}" for v, n in sorted(counts.items())))
        for case in short:
            r = results[case]
            print(f"  {case}: {r['behavior']}, close {r['behaviorClose']}: "
                  f"{os.path.join(report_dir, r['reportfile'])}")
    print(f"{report_dir}: {'PASS' if failing == 0 else f'FAIL ({failing} case(s) fall short)'}")
    return 0 if failing == 0 else 1


def table(out_dir):
    cases = collections.Counter()
    verdicts = collections.defaultdict(collections.Counter)
    bad_close = collections.Counter()
    section9 = collections.defaultdict(collections.Counter)
    for run in sorted(os.listdir(out_dir)):
        index = load(os.path.join(out_dir, run))
        if not index:
            continue
        role = run.split("-")[0]
        for agent, results in index.items():
            key = (agent, role)
            for case, r in results.items():
                cases[key] += 1
                verdicts[key][r["behavior"]] += 1
                bad_close[key] += r["behaviorClose"] not in PASSING
                if case.startswith("9."):
                    section9[key][".".join(case.split(".")[:2])] += r.get("duration", 0)
    print("| runtime | role | cases | " + " | ".join(VERDICTS) + " | close not OK |")
    print("|---|---|---|" + "---|" * len(VERDICTS) + "---|")
    for key in sorted(cases):
        counts = " | ".join(str(verdicts[key][v]) for v in VERDICTS)
        print(f"| {key[0]} | {key[1]} | {cases[key]} | {counts} | {bad_close[key]} |")
    if section9:
        groups = sorted({g for t in section9.values() for g in t}, key=case_key)
        print()
        print("| section 9 time (ms) | " + " | ".join(groups) + " |")
        print("|---|" + "---|" * len(groups))
        for key in sorted(section9):
            print(f"| {key[0]} {key[1]} | " + " | ".join(str(section9[key][g]) for g in groups) + " |")
    return 0


def main(argv):
    if len(argv) == 2 and not argv[1].startswith("-"):
        return judge(argv[1])
    if len(argv) == 3 and argv[1] == "--table":
        return table(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Prints a Markdown table of Autobahn verdict counts per runtime and role, and the
section 9 timings, from the reports under target/autobahn (see scripts/autobahn.sh)."""
import collections, json, os, sys

KINDS = ["OK", "INFORMATIONAL", "NON-STRICT", "FAILED", "WRONG CODE", "UNIMPLEMENTED"]

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "target/autobahn"
    verdicts = collections.defaultdict(collections.Counter)
    bad_close = collections.Counter()
    cases = collections.Counter()
    timings = collections.defaultdict(collections.Counter)
    for name in sorted(os.listdir(out)):
        path = os.path.join(out, name, "index.json")
        if not os.path.exists(path):
            continue
        role = name.split("-")[0]
        for agent, results in json.load(open(path)).items():
            key = (agent, role)
            for case, v in results.items():
                cases[key] += 1
                verdicts[key][v["behavior"]] += 1
                if v["behaviorClose"] not in ("OK", "INFORMATIONAL"):
                    bad_close[key] += 1
                if case.startswith("9."):
                    timings[key][".".join(case.split(".")[:2])] += v.get("duration", 0)
    print("| runtime | role | cases | " + " | ".join(KINDS) + " | close not OK |")
    print("|---|---|---|" + "---|" * len(KINDS) + "---|")
    for key in sorted(cases):
        print(f"| {key[0]} | {key[1]} | {cases[key]} | "
              + " | ".join(str(verdicts[key].get(k, 0)) for k in KINDS) + f" | {bad_close[key]} |")
    if timings:
        secs = sorted({s for t in timings.values() for s in t}, key=lambda s: [int(x) for x in s.split(".")])
        print()
        print("| section 9 time (ms) | " + " | ".join(secs) + " |")
        print("|---|" + "---|" * len(secs))
        for key in sorted(timings):
            print(f"| {key[0]} {key[1]} | " + " | ".join(str(timings[key].get(s, 0)) for s in secs) + " |")

if __name__ == "__main__":
    main()

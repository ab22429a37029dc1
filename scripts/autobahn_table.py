#!/usr/bin/env python3
"""Prints a Markdown table of Autobahn verdict counts per runtime and role, and the
section 9 timings, from the reports under target/autobahn (see scripts/autobahn.sh)."""
import collections, json, os, sys

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "target/autobahn"
    rows = []
    timings = {}
    for name in sorted(os.listdir(out)):
        path = os.path.join(out, name, "index.json")
        if not os.path.exists(path):
            continue
        role, _, runtime = name.partition("-")
        for agent, cases in json.load(open(path)).items():
            verdicts = collections.Counter(v["behavior"] for v in cases.values())
            closes = collections.Counter(v["behaviorClose"] for v in cases.values())
            rows.append((runtime, role, len(cases), verdicts, closes))
            for case, v in cases.items():
                if case.startswith("9."):
                    sec = ".".join(case.split(".")[:2])
                    timings.setdefault((runtime, role), collections.Counter())[sec] += v.get("duration", 0)
    kinds = ["OK", "INFORMATIONAL", "NON-STRICT", "FAILED", "WRONG CODE", "UNIMPLEMENTED"]
    print("| runtime | role | cases | " + " | ".join(kinds) + " | close not OK |")
    print("|---|---|---|" + "---|" * len(kinds) + "---|")
    for runtime, role, n, verdicts, closes in rows:
        bad_close = sum(c for k, c in closes.items() if k not in ("OK", "INFORMATIONAL"))
        print(f"| ws-{runtime} | {role} | {n} | " + " | ".join(str(verdicts.get(k, 0)) for k in kinds) + f" | {bad_close} |")
    if timings:
        print()
        secs = sorted({s for t in timings.values() for s in t}, key=lambda s: [int(x) for x in s.split(".")])
        print("| section 9 time (ms) | " + " | ".join(secs) + " |")
        print("|---|" + "---|" * len(secs))
        for (runtime, role), t in sorted(timings.items()):
            print(f"| ws-{runtime} {role} | " + " | ".join(str(t.get(s, 0)) for s in secs) + " |")

if __name__ == "__main__":
    main()

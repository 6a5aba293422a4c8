#!/usr/bin/env python3
"""check_report.py REPORT.jsonl

Check an iiifstitch --report file: every line is one JSON object with the report's keys in
order, the status is done, skipped or failed, error is null unless failed, a done image has
its counts, a skipped one its file and image size and no request, a failed one no file size. On
success print "OUTPUT:STATUS" of every line, sorted, joined by spaces; on failure print why
and exit 1.
"""
import json
import sys

KEYS = ["source", "output", "record", "width", "height", "pixels", "bytes", "bytes_in",
        "requests", "retries", "resumed_rows", "seconds", "status", "error"]


def check(d, line):
    st = d["status"]
    if list(d) != KEYS:
        return "keys %s" % list(d)
    if st not in ("done", "skipped", "failed") or (d["error"] is None) != (st != "failed"):
        return "status/error: " + line
    if st == "done" and not (d["width"] > 0 and d["pixels"] == d["width"] * d["height"]
                             and d["bytes"] > 0 and d["bytes_in"] > 0 and d["requests"] > 0):
        return "done without counts: " + line
    if st == "skipped" and not (d["bytes"] > 0 and d["requests"] == 0 and d["width"] > 0
                                and d["pixels"] == d["width"] * d["height"]):
        return "skipped: " + line
    if not (0 <= d["resumed_rows"] and (st == "done" or d["resumed_rows"] == 0)
            and (d["height"] is None or d["resumed_rows"] < d["height"])):
        return "resumed_rows: " + line
    if st == "failed" and d["bytes"] is not None:
        return "failed with bytes: " + line
    return None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[0])
    out = []
    with open(sys.argv[1], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            try:
                d = json.loads(line)
            except ValueError as e:
                print("line %d is not JSON (%s): %s" % (n, e, line))
                sys.exit(1)
            why = check(d, line)
            if why:
                print("line %d: %s" % (n, why))
                sys.exit(1)
            out.append("%s:%s" % (d["output"], d["status"]))
    print(" ".join(sorted(out)))


if __name__ == "__main__":
    main()

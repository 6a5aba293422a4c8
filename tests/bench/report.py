#!/usr/bin/python3
"""Turn the benchmark's raw measurements into a Markdown report.

usage: report.py CASES.tsv RAW.tsv META.txt

CASES.tsv  id, label, image, floor_id, check, command   (tab separated)
RAW.tsv    round, position, id, wall_s, rss_kib          (tab separated)
META.txt   lines copied verbatim into the report's "Setup" list
"""
import statistics
import sys


def fmt_s(v):
    return "%.2f" % v if v < 100 else "%.1f" % v


def fmt_mib(kib):
    return "%.1f" % (kib / 1024.0)


def main():
    cases_path, raw_path, meta_path = sys.argv[1:4]
    cases = []
    for line in open(cases_path):
        line = line.rstrip("\n")
        if not line:
            continue
        cid, label, image, floor_id, check, command = line.split("\t")
        cases.append(dict(id=cid, label=label, image=image, floor=floor_id,
                          check=check, command=command))
    wall, rss = {}, {}
    rounds = set()
    for line in open(raw_path):
        f = line.split()
        if len(f) != 5:
            continue
        rounds.add(int(f[0]))
        wall.setdefault(f[2], []).append(float(f[3]))
        rss.setdefault(f[2], []).append(int(f[4]))

    med_w = {k: statistics.median(v) for k, v in wall.items()}
    med_r = {k: statistics.median(v) for k, v in rss.items()}

    out = []
    out.append("# iiifstitch benchmark")
    out.append("")
    out.append("| method | image | wall s, median | wall min–max | × floor wall "
               "| peak RSS MiB, median | RSS min–max | × floor RSS | output check |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for c in cases:
        k = c["id"]
        if k not in wall:
            continue
        w, r = wall[k], rss[k]
        fw, fr = med_w.get(c["floor"]), med_r.get(c["floor"])
        xw = "%.2f×" % (med_w[k] / fw) if fw else "–"
        xr = "%.2f×" % (med_r[k] / fr) if fr else "–"
        out.append("| %s | %s | %s | %s–%s | %s | %s | %s–%s | %s | %s |" % (
            c["label"], c["image"], fmt_s(med_w[k]), fmt_s(min(w)), fmt_s(max(w)), xw,
            fmt_mib(med_r[k]), fmt_mib(min(r)), fmt_mib(max(r)), xr, c["check"]))
    out.append("")
    out.append("Rounds: %d (each row: %d measurement%s). Ratios: a row's median over "
               "the floor's median on the same image." %
               (len(rounds), len(rounds), "" if len(rounds) == 1 else "s"))
    out.append("")
    out.append("## Setup")
    out.append("")
    for line in open(meta_path):
        line = line.rstrip("\n")
        if line:
            out.append("- " + line)
    out.append("")
    out.append("## Commands")
    out.append("")
    out.append("Each command ran under `/usr/bin/time -f '%e %M'` (wall seconds, "
               "peak RSS in KiB; for a script this is the largest single process it "
               "waited for, not a sum).")
    out.append("")
    out.append("```")
    for c in cases:
        out.append("# %s (%s)" % (c["label"], c["image"]))
        out.append(c["command"])
    out.append("```")
    out.append("")
    out.append("## Raw measurements (round, id, wall s, peak RSS KiB)")
    out.append("")
    out.append("```")
    for line in open(raw_path):
        f = line.split()
        if len(f) == 5:
            out.append("%s %-12s %8s %9s" % (f[0], f[2], f[3], f[4]))
    out.append("```")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Merge the runs of `make bench` into one stock-vs-patched table.

Usage: bench-report.py RUNS_DIR OUT_DIR [--tree-diff FILE]

RUNS_DIR holds one directory per boot, MODE-ROUND-TREE (e.g. wall-1-stock),
each with the bench.csv that tools/bench/job.sh wrote in the guest
(kind,size,op,n,min_us,median_us,max_us: the lines of tools/bench_reg_mr,
tools/bench_gup.sh, tools/bench_vfio, tools/bench/qemu_start.sh and
tools/bench/perftest.sh, see OPS) and env.txt, plus
boots.csv (mode,round,tree,rc,seconds,load1) written by lab/bench.sh.
--tree-diff names the list of files in which the patched tree differs from
stock; an empty list makes this an A/A run.

Per cell (mode, kind, size, op) and tree: median = median over boots of each
boot's median, min and max = over every run of every boot. ratio = stock
median / patched median (above 1: patched is faster); its range is over the
rounds, each round's stock boot against the patched boot after it.

Writes OUT_DIR/bench.csv, bench.md, and with gnuplot bench.png (ratios) and
bench-latency.png (medians). Standard library only.
"""
import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict

TREES = ("stock", "patched")
TCG = "QEMU TCG (not hardware timing)"
MODES = {
    "wall": "wall time: MTTCG, 2 vCPUs, guest CLOCK_MONOTONIC",
    "icount": "instruction count: 1 vCPU, -icount shift=0, "
              "1 guest µs = 1000 guest instructions",
}
AA = "A/A (series empty or identical): ratios are the noise floor"
TITLE = ("ibv_reg_mr (rxe0), gup_test pins, VFIO type1 and iommufd map/unmap, "
         "QEMU passthrough start-up, perftest")

# Every op the benches print, by bench, in table order: (op, what it times).
OPS = {
    "ibv_reg_mr on rxe0 (tools/bench_reg_mr)": [
        ("reg", "ibv_reg_mr(): ib_umem pins the MR and rxe builds its map"),
        ("dereg", "ibv_dereg_mr(): unmap and unpin"),
    ],
    "GUP through mm/gup_test (tools/bench_gup.sh)": [
        ("gup_pin_get", "the best pin API the tree offers the caller, with "
         "4 KiB of output a call (-n 512): stock -a pin_user_pages_fast() "
         "into a page array (512 pages a call), patched -v "
         "pin_user_pages_vec() into PFN extents (each call asks for the "
         "rest of the range, into one buffer, as ib_umem and VFIO do)"),
        ("gup_pin_put", "unpin of the same: unpin_user_pages() on stock, "
         "gup_vec_unpin() on patched"),
        ("gup_pages_get", "-a pin_user_pages_fast() into a page array on "
         "both trees: the path every existing caller uses (no regression "
         "expected)"),
        ("gup_pages_put", "unpin_user_pages() on both trees"),
        ("gup_longterm_get", "FOLL_LONGTERM pins, GUP-fast first as ib_umem "
         "pins: stock -a -F 0x100 pin_user_pages_fast(FOLL_LONGTERM), "
         "patched -V pin_user_pages_vec(FOLL_LONGTERM)"),
        ("gup_longterm_put", "unpin of the same"),
        ("gup_pages_longterm_get", "-a -F 0x100 pin_user_pages_fast("
         "FOLL_LONGTERM) into a page array on both trees: existing "
         "long-term callers (no regression expected)"),
        ("gup_pages_longterm_put", "unpin_user_pages() of the same"),
    ],
    "VFIO through edu (tools/bench_vfio)": [
        ("type1_map", "VFIO_IOMMU_MAP_DMA of the whole region, type1 "
         "container: the series converts its pinning"),
        ("type1_unmap", "VFIO_IOMMU_UNMAP_DMA of the same"),
        ("ioas_map", "iommufd IOMMU_IOAS_MAP with the device attached: "
         "iommufd is not converted by the series, a reference; but it pins "
         "with pin_user_pages_fast() into page arrays, as gup_pages_get"),
        ("ioas_unmap", "iommufd IOMMU_IOAS_UNMAP (reference; unpins with "
         "unpin_user_page_range_dirty_lock())"),
        ("ioas_map_file", "iommufd IOMMU_IOAS_MAP_FILE of the memfd, "
         "memfd2m only (reference)"),
        ("ioas_unmap_file", "IOMMU_IOAS_UNMAP of that (reference)"),
    ],
    "QEMU passthrough start-up (tools/bench/qemu_start.sh)": [
        ("qemu_start", "nested QEMU (TCG, -S) with edu as -device vfio-pci "
         "and 1 GiB of 2M hugetlb RAM, preallocated: the whole process, "
         "exec to exit after 'info pci' and 'quit' (mostly QEMU's own "
         "set-up, not VFIO's)"),
        ("qemu_type1_ioctl", "within that, the time spent in type1 ioctls "
         "(function_graph of vfio_iommu_type1_ioctl): MAP_DMA of all guest "
         "RAM when the device is realised, UNMAP_DMA of it at quit"),
        ("qemu_type1_close", "the container release at quit "
         "(vfio_iommu_type1_release: what QEMU left mapped)"),
    ],
    "perftest over rxe0 (tools/bench/perftest.sh, icount boots)": [
        ("perftest_write_bw", "ib_write_bw: µs a message at the average "
         "bandwidth (4k: default buffers, huge2m: --use_hugepages)"),
        ("perftest_read_bw", "ib_read_bw, likewise"),
        ("perftest_send_bw", "ib_send_bw, likewise"),
        ("perftest_write_lat", "ib_write_lat: typical latency"),
    ],
}
OP_ORDER = [op for ops in OPS.values() for op, _ in ops]
# The ops whose code the series leaves alone: their stock/patched ratios
# are an A/A-like check of the noise within an A/B run.
REFERENCE_OPS = ("ioas_",)
PLOT_OPS = ("reg", "dereg", "type1_map", "type1_unmap", "gup_pin_get")


def bench_of(op):
    for bench, ops in OPS.items():
        if any(o == op for o, _ in ops):
            return bench
    return "other"


def op_rank(op):
    return (OP_ORDER.index(op), "") if op in OP_ORDER else (len(OP_ORDER), op)


def fmt_size(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


def fmt_us(v):
    if v is None:
        return "-"
    return f"{v:.0f}" if v >= 1000 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def fmt_ratio(v):
    return "-" if v is None else f"{v:.3f}"


def read_boots(runs_dir):
    """{(mode, round, tree): {(kind, size, op): (n, min, median, max)}}"""
    boots = {}
    for name in sorted(os.listdir(runs_dir)):
        path = os.path.join(runs_dir, name, "bench.csv")
        parts = name.split("-")
        if len(parts) != 3 or parts[2] not in TREES or not os.path.isfile(path):
            continue
        cells = {}
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                key = (row["kind"], int(row["size"]), row["op"])
                cells[key] = (int(row["n"]), float(row["min_us"]),
                              float(row["median_us"]), float(row["max_us"]))
        boots[(parts[0], int(parts[1]), parts[2])] = cells
    return boots


def read_boot_log(runs_dir):
    path = os.path.join(runs_dir, "boots.csv")
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class Cell:
    """One (mode, kind, size, op) across both trees and every round."""

    def __init__(self):
        self.per_round = {t: {} for t in TREES}   # tree -> round -> stats

    def tree_stats(self, tree):
        rounds = self.per_round[tree]
        if not rounds:
            return None
        vals = list(rounds.values())
        return {
            "boots": len(vals),
            "runs": sum(v[0] for v in vals),
            "min": min(v[1] for v in vals),
            "median": statistics.median(v[2] for v in vals),
            "max": max(v[3] for v in vals),
        }

    def ratios(self):
        s, p = self.tree_stats("stock"), self.tree_stats("patched")
        ratio = s["median"] / p["median"] if s and p and p["median"] > 0 else None
        pairs = [self.per_round["stock"][r][2] / self.per_round["patched"][r][2]
                 for r in sorted(self.per_round["stock"])
                 if self.per_round["patched"].get(r, (0, 0, 0))[2] > 0]
        return ratio, (min(pairs) if pairs else None), (max(pairs) if pairs else None)

    def same_kernel(self):
        """Ratios of one kernel's boots to each other: the A/A noise."""
        out = []
        for tree in TREES:
            meds = [v[2] for _, v in sorted(self.per_round[tree].items())]
            out += [a / b for i, a in enumerate(meds) for b in meds[i + 1:] if b > 0]
        return (min(out), max(out)) if out else (None, None)


def merge(boots):
    cells = defaultdict(Cell)
    for (mode, rnd, tree), rows in boots.items():
        for (kind, size, op), stats in rows.items():
            cells[(mode, kind, size, op)].per_round[tree][rnd] = stats
    return cells


def kind_order(cells):
    order = []
    for (_, kind, _, _) in sorted(cells, key=lambda k: k[2]):
        if kind not in order:
            order.append(kind)
    return order


def benches(cells):
    """The benches that have cells, in OPS order."""
    have = {bench_of(k[3]) for k in cells}
    return [b for b in list(OPS) + ["other"] if b in have]


def sorted_keys(cells, mode, bench=None):
    """A mode's cells, by bench, then kind, size and op."""
    kinds = kind_order(cells)
    names = list(OPS) + ["other"]
    keys = [k for k in cells if k[0] == mode and
            (bench is None or bench_of(k[3]) == bench)]
    return sorted(keys, key=lambda k: (names.index(bench_of(k[3])),
                                       kinds.index(k[1]), k[2], op_rank(k[3])))


def table_rows(cells, mode, bench=None):
    rows = []
    for key in sorted_keys(cells, mode, bench):
        cell = cells[key]
        s, p = cell.tree_stats("stock"), cell.tree_stats("patched")
        ratio, rmin, rmax = cell.ratios()

        def col(t):
            return "-" if not t else \
                f"{fmt_us(t['median'])} ({fmt_us(t['min'])}–{fmt_us(t['max'])})"
        rows.append((key[1], fmt_size(key[2]), key[3], col(s), col(p),
                     fmt_ratio(ratio), fmt_range(rmin, rmax),
                     fmt_range(*cell.same_kernel())))
    return rows


def fmt_range(lo, hi):
    return "-" if lo is None else f"{fmt_ratio(lo)}–{fmt_ratio(hi)}"


HEAD = ("kind", "size", "op", "stock µs median (min–max)",
        "patched µs median (min–max)", "stock/patched", "per-round range",
        "same kernel, boot/boot")


def spread(ranges):
    """Largest and median distance from 1 over (lo, hi) ratio ranges."""
    devs = [max(abs(lo - 1), abs(hi - 1)) for lo, hi in ranges if lo is not None]
    return (max(devs), statistics.median(devs)) if devs else None


def noise_summary(cells, mode):
    """(A/B per-round spread, same-kernel boot/boot spread, spread of the
    reference ops' stock/patched ratios) of one mode."""
    keys = sorted_keys(cells, mode)
    ref = [k for k in keys if k[3].startswith(REFERENCE_OPS)]
    return (spread([cells[k].ratios()[1:] for k in keys]),
            spread([cells[k].same_kernel() for k in keys]),
            spread([(r, r) for r in (cells[k].ratios()[0] for k in ref)]))


def noise_lines(cells, mode, aa):
    ab, same, ref = noise_summary(cells, mode)
    out = []
    if ab:
        what = "A/A stock/patched (noise floor)" if aa else "A/B stock/patched per round"
        out.append(f"{what}, {mode}, {TCG}: largest |ratio-1| {ab[0]:.3f}, "
                   f"median {ab[1]:.3f}")
    if same:
        out.append(f"same kernel boot/boot (A/A noise), {mode}, {TCG}: largest "
                   f"|ratio-1| {same[0]:.3f}, median {same[1]:.3f}")
    if ref:
        out.append(f"iommufd ioas_* stock/patched (not converted by the "
                   f"series: A/A-like, but ioas_map shares the page-array "
                   f"GUP path), {mode}, {TCG}: largest |ratio-1| "
                   f"{ref[0]:.3f}, median {ref[1]:.3f}")
    return out


def missing_cells(cells):
    out = []
    for key, cell in sorted(cells.items()):
        for tree in TREES:
            if not cell.per_round[tree]:
                out.append(f"{key[0]} {key[1]} {fmt_size(key[2])} {key[3]}: no {tree} data")
    return out


def print_table(cells, mode, aa):
    print(f"\n== {mode}: {MODES.get(mode, mode)} -- {TCG}")
    if aa:
        print(f"   {AA}")
    for bench in benches(cells):
        rows = table_rows(cells, mode, bench)
        if not rows:
            continue
        print(f"  -- {bench}")
        rows = [HEAD] + rows
        widths = [max(len(r[i]) for r in rows) for i in range(len(HEAD))]
        for r in rows:
            print("  " + "  ".join(c.rjust(w) if i > 2 else c.ljust(w)
                                   for i, (c, w) in enumerate(zip(r, widths))))
    for line in noise_lines(cells, mode, aa):
        print("  " + line)


def write_csv(cells, modes, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timing", "mode", "kind", "size", "op",
                    "stock_boots", "stock_min_us", "stock_median_us", "stock_max_us",
                    "patched_boots", "patched_min_us", "patched_median_us",
                    "patched_max_us", "ratio", "ratio_round_min", "ratio_round_max",
                    "same_kernel_min", "same_kernel_max"])
        for mode in modes:
            for key in sorted_keys(cells, mode):
                cell = cells[key]
                row = [f"QEMU TCG {mode} (not hardware timing)", *key]
                for tree in TREES:
                    t = cell.tree_stats(tree)
                    row += [t["boots"], f"{t['min']:.3f}", f"{t['median']:.3f}",
                            f"{t['max']:.3f}"] if t else [0, "", "", ""]
                row += ["" if v is None else f"{v:.4f}"
                        for v in (*cell.ratios(), *cell.same_kernel())]
                w.writerow(row)


def md_table(rows):
    lines = ["| " + " | ".join(HEAD) + " |",
             "|" + "|".join("---" if i < 3 else "---:" for i in range(len(HEAD))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def env_line(runs_dir):
    """The guest kernel of each tree, from the first boot's env.txt."""
    kernels = {}
    for name in sorted(os.listdir(runs_dir)):
        tree = name.rsplit("-", 1)[-1]
        path = os.path.join(runs_dir, name, "env.txt")
        if tree in TREES and tree not in kernels and os.path.isfile(path):
            with open(path) as f:
                kernels[tree] = f.readline().strip().removeprefix("kernel: ")
    return "; ".join(f"{t} {kernels[t]}" for t in TREES if t in kernels) or "unknown"


def read_mem(runs_dir, tree):
    """mem.csv of tools/bench/mem.sh: {("mem"|"max", kind): value}"""
    path = os.path.join(runs_dir, f"mem-{tree}", "mem.csv")
    out = {}
    if not os.path.isfile(path):
        return out
    with open(path) as f:
        for line in f:
            v = line.strip().split(",")
            if v[0] == "mem" and v[1] != "kind":
                out[("mem", v[1])] = v[9]          # held_kib_per_gib
            elif v[0] == "maxmr_largest":
                out[("max", v[1])] = f"{v[2]} (next: {v[4]} at {v[3]})"
    return out


def mem_md(runs_dir):
    """Memory held per registered GiB and the largest MR, stock vs patched."""
    mem = {t: read_mem(runs_dir, t) for t in TREES}
    kinds = []
    for t in TREES:
        for _, kind in mem[t]:
            if kind not in kinds:
                kinds.append(kind)
    if not kinds:
        return []
    out = ["## rxe: kernel memory per registered GiB, largest MR", "",
           "tools/bench/mem.sh, one boot per tree (6G guest): SUnreclaim + "
           "VmallocUsed held by one registered 1 GiB MR (median of 3), in KiB per "
           "GiB; largest MR: the largest of 512M, 1G, 1536M, 2G, 3G that "
           "registered, and what the next size gave (fail: ibv_reg_mr failed; "
           "nomem: the guest had no room to map it, not a limit of the kernel). "
           "Memory figures, not timing.", "",
           "| kind | stock KiB/GiB | patched KiB/GiB | stock largest MR | patched largest MR |",
           "|---|---:|---:|---|---|"]
    for kind in kinds:
        out.append(f"| {kind} | " + " | ".join(
            mem[t].get(("mem", kind), "-") for t in TREES) + " | " + " | ".join(
            mem[t].get(("max", kind), "-") for t in TREES) + " |")
    return out + [""]


def write_md(cells, modes, boots_log, runs_dir, tree_diff, aa, path):
    out = [f"# {TITLE}, stock vs patched: {TCG}", ""]
    if aa:
        out += [f"**{AA}.**", ""]
    elif tree_diff is None:
        out += ["A/A or A/B unknown: no list of the files in which the "
                "patched tree differs from stock.", ""]
    else:
        out += [f"A/B: the patched tree differs from stock in {len(tree_diff)} "
                f"file(s): {', '.join(tree_diff[:12])}"
                f"{' …' if len(tree_diff) > 12 else ''}.", ""]
    out += [
        f"Guest kernels: {env_line(runs_dir)}; `bench` config (no DEBUG_VM, no "
        "lockdep).",
        "Boots per mode: stock, patched, stock, patched. In each boot, "
        "tools/bench/job.sh runs three benches, each timing every cell "
        "(kind, size, op) after warm-up, on pre-faulted memory whose backing "
        "it verified, with exact pin-balance checks (nr_foll_pin_acquired - "
        "nr_foll_pin_released): tools/bench_reg_mr (ibv_reg_mr on rxe0, "
        "then data moved through the MR and checked), tools/bench_gup.sh "
        "(the tree's mm/gup_test) and tools/bench_vfio (edu behind the "
        "emulated intel-iommu: type1, then iommufd with edu attached through "
        "its VFIO cdev; one untimed map per cell checks the pins and a DMA "
        "through the IOMMU).", "",
        "Ops:", ""]
    for bench, ops in OPS.items():
        out.append(f"- {bench}:")
        out += [f"  - `{op}`: {what}." for op, what in ops]
    out += [
        "", "gup_test times one ioctl that pins the whole size, 512 pages a "
        "call, then one that unpins it all; it reports whole µs. An op whose "
        "readings come under 100 µs is timed over K ioctls per figure (K "
        "from a first pass, so that each figure covers at least 100 µs) and "
        "its figures are the mean per ioctl, each reading still truncated "
        "to the µs.", "",
        "The ioas_* ops run iommufd, which the series does not convert: a "
        "reference column whose stock/patched ratio is an A/A-like check of "
        "the noise in an A/B run. Not quite for ioas_map: iommufd pins with "
        "pin_user_pages_fast() into page arrays, whose internals the series "
        "reworks, so ioas_map moves with gup_pages_get; ioas_unmap and "
        "ioas_unmap_file are the cleaner check.", "",
        "Median: over boots, of each boot's median; min and max: over all runs "
        "of all boots. stock/patched: ratio of medians (above 1: patched "
        "faster); per-round range: each round's stock boot over its patched "
        "boot; same kernel, boot/boot: each kernel's boots over each other "
        "(what an A/A run would show). All figures are QEMU TCG on a 2-core host: compare ratios, not "
        "absolute times, with hardware.", ""]
    for mode in modes:
        out += [f"## {mode}: {MODES.get(mode, mode)} — {TCG}", ""]
        for bench in benches(cells):
            rows = table_rows(cells, mode, bench)
            if rows:
                out += [f"### {bench}, {mode} — {TCG}", ""] + md_table(rows) + [""]
        out += [f"- {line}." for line in noise_lines(cells, mode, aa)] + [""]
    out += mem_md(runs_dir)
    config = os.path.join(runs_dir, "config.txt")
    if os.path.isfile(config):
        with open(config) as f:
            out += ["## Configuration", ""] + [f"- {l.strip()}" for l in f if l.strip()] + [""]
    missing = missing_cells(cells)
    if missing:
        out += ["## Missing cells (aborted or failed boots)", ""]
        out += [f"- {m}" for m in missing] + [""]
    if boots_log:
        out += ["## Boots", "", "Host load: the 1-minute load average as each boot ended; "
                "the guest alone makes about 2 (wall) or 1 (icount), more means "
                "other work shared the two cores (wall-time figures suffer, "
                "instruction counts do not).", "",
                "| mode | round | tree | exit | seconds | host load |",
                "|---|---:|---|---:|---:|---:|"]
        out += [f"| {b['mode']} | {b['round']} | {b['tree']} | {b['rc']} | "
                f"{b['seconds']} | {b['load1']} |" for b in boots_log]
        out.append("")
    with open(path, "w") as f:
        f.write("\n".join(out))


def write_plot_data(cells, modes, plot_dir):
    """One file per (mode, op, kind): size ratio rmin rmax stock patched."""
    files = defaultdict(list)
    for mode in modes:
        for key in sorted_keys(cells, mode):
            cell = cells[key]
            s, p = cell.tree_stats("stock"), cell.tree_stats("patched")
            ratio, rmin, rmax = cell.ratios()
            if ratio is None:
                continue
            name = f"{mode}-{key[3]}-{key[1]}.dat"
            with open(os.path.join(plot_dir, name), "a") as f:
                f.write(f"{key[2]} {ratio} {rmin} {rmax} {s['median']} {p['median']}\n")
            if name not in files[(mode, key[3])]:
                files[(mode, key[3])].append(name)
    return files


def gnuplot(script, cwd):
    r = subprocess.run(["gnuplot"], input=script, text=True, cwd=cwd,
                       capture_output=True)
    if r.returncode:
        print(f"bench-report: gnuplot failed: {r.stderr.strip()}", file=sys.stderr)
    return r.returncode == 0


def panel(files, mode, op, title, plots, kinds):
    """One plot; a kind has the same colour (its place in @kinds) in all."""
    head = [f'set title "{mode} ({MODES.get(mode, mode).split(":")[0]}), {op}: {title}"']
    parts = []
    for name in files:
        kind = name.split("-", 2)[2][:-4]
        parts += [p.format(f=f"plot/{name}", k=kind, c=kinds.index(kind) + 1)
                  for p in plots]
    return head + ["plot " + ", \\\n  ".join(parts)]


def write_plots(cells, modes, out_dir):
    if not shutil.which("gnuplot"):
        print("bench-report: no gnuplot: no PNG (lab/install-deps.sh installs it)",
              file=sys.stderr)
        return
    plot_dir = os.path.join(out_dir, "plot")
    shutil.rmtree(plot_dir, ignore_errors=True)
    os.makedirs(plot_dir)
    files = write_plot_data(cells, modes, plot_dir)
    panels = [(m, op) for m in modes for op in PLOT_OPS if files.get((m, op))]
    if not panels:
        return
    sizes = sorted({k[2] for k in cells})
    xtics = ", ".join(f'"{fmt_size(n).replace(" ", "")}" {n}' for n in sizes)
    common = [f"set terminal pngcairo noenhanced size 1400,{450 * ((len(panels) + 1) // 2)} font ',10'",
              "set logscale x 2", f"set xtics rotate by -30 ({xtics})", "set xlabel 'size (MR, pinned range, DMA mapping)'",
              f"set xrange [{sizes[0] / 1.5}:{sizes[-1] * 1.5}]",
              "set key outside right", "set grid",
              f"set multiplot layout {(len(panels) + 1) // 2},2 title '{{}}'"]
    kinds = kind_order(cells)
    ratio = [c.replace("{}", f"{TITLE}: stock/patched median ratio, {TCG}")
             for c in common] + ["set logscale y 10", "set ylabel 'stock / patched'",
                               "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2"]
    lat = [c.replace("{}", f"{TITLE}: median latency, {TCG}")
           for c in common] + ["set logscale y 10", "set ylabel 'µs (guest clock)'"]
    for mode, op in panels:
        ratio += panel(files[(mode, op)], mode, op, "ratio (bars: per-round range)",
                       ["'{f}' u 1:2:3:4 w yerrorlines lc {c} t '{k}'"], kinds)
        # Stock with open points too: an op with one size has no line.
        lat += panel(files[(mode, op)], mode, op,
                     "median (line, open: stock; filled: patched)",
                     ["'{f}' u 1:5 w linespoints lc {c} pt 6 t '{k} stock'",
                      "'{f}' u 1:6 w points lc {c} pt 7 t '{k} patched'"], kinds)
    if gnuplot("\n".join(["set output 'bench.png'"] + ratio + ["unset multiplot"]), out_dir):
        print(f"bench-report: {os.path.join(out_dir, 'bench.png')}")
    if gnuplot("\n".join(["set output 'bench-latency.png'"] + lat + ["unset multiplot"]), out_dir):
        print(f"bench-report: {os.path.join(out_dir, 'bench-latency.png')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--tree-diff", help="files where patched differs from stock")
    a = ap.parse_args()
    boots = read_boots(a.runs_dir)
    if not boots:
        sys.exit(f"bench-report: no bench.csv under {a.runs_dir}")
    tree_diff = None if a.tree_diff is None else []
    if a.tree_diff:
        with open(a.tree_diff) as f:
            tree_diff = [l.strip() for l in f if l.strip()]
    aa = a.tree_diff is not None and not tree_diff
    cells = merge(boots)
    modes = [m for m in MODES if any(k[0] == m for k in cells)]
    modes += sorted({k[0] for k in cells} - set(modes))
    print(f"{TITLE}, {len(boots)} boots -- every figure: {TCG}")
    if aa:
        print(AA)
    elif a.tree_diff:
        print(f"A/B: patched differs from stock in {len(tree_diff)} file(s)")
    for mode in modes:
        print_table(cells, mode, aa)
    for m in missing_cells(cells):
        print(f"MISSING {m}")
    os.makedirs(a.out_dir, exist_ok=True)
    write_csv(cells, modes, os.path.join(a.out_dir, "bench.csv"))
    write_md(cells, modes, read_boot_log(a.runs_dir), a.runs_dir, tree_diff, aa,
             os.path.join(a.out_dir, "bench.md"))
    print(f"bench-report: {os.path.join(a.out_dir, 'bench.csv')}, "
          f"{os.path.join(a.out_dir, 'bench.md')}")
    write_plots(cells, modes, a.out_dir)
    return 1 if missing_cells(cells) else 0


if __name__ == "__main__":
    sys.exit(main())

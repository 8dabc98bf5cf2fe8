"""promptbundle against rulesync on the same generated workload; writes bench/README.md.

For N = 10, 100, 1000 agents and 1 or 4 targets, each repetition times, alternating the two
tools: a cold build (no output, no cache), a no-op rebuild, and a rebuild after the `core`
fragment (included by every agent) changes. For rulesync the change is applied to every
expanded source that contains it, before the clock starts. Medians of the repetitions and
the peak resident memory of the tool's process are reported.

    python bench/run.py [--reps 5] [--sizes 10,100,1000] [--rulesync PATH] [--readme PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import (
    PROMPTBUNDLE_TARGETS,
    RULESYNC_PLUGIN_ROOT,
    RULESYNC_TARGETS,
    WORKLOADS,
    agent_specs,
    write_promptbundle,
    write_rulesync,
)

BENCH = Path(__file__).resolve().parent
# Workloads live on a RAM disk when there is one, so both tools are timed, not the disk.
RAM_DISK = Path("/dev/shm")
CASES = ("cold", "no-op", "one agent edited", "one fragment changed", "check")
# The agent the "one agent edited" case edits (the middle one), and the lines it appends.
EDITED_AGENT = 0.5


@dataclass
class Sample:
    seconds: list[float] = field(default_factory=list)
    peak_kb: list[int] = field(default_factory=list)

    def add(self, seconds: float, peak_kb: int) -> None:
        self.seconds.append(seconds)
        self.peak_kb.append(peak_kb)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_mb(self) -> float:
        return max(self.peak_kb) / 1024


def timed(argv: Sequence[str], cwd: Path) -> tuple[float, int]:
    """Wall time and peak RSS (KiB, largest process of the tree) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed in {cwd}:\n{err.decode(errors='replace')}")
    return elapsed, usage.ru_maxrss


class Tool:
    name: str

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def argv(self) -> list[str]:
        raise NotImplementedError

    def clean(self) -> None:
        raise NotImplementedError

    workload = "bench"

    def write(self, count: int, targets: int, variant: int) -> None:
        raise NotImplementedError

    def agent_files(self, agent: str) -> list[Path]:
        raise NotImplementedError

    def edit_agent(self, count: int, rep: int) -> None:
        """Append a line to one agent's body (every source file of it)."""
        agent = f"agent-{int(count * EDITED_AGENT):04d}"
        for path in self.agent_files(agent):
            with path.open("a", encoding="utf-8") as handle:
                handle.write(f"\nEdited in repetition {rep}.\n")

    def run(self) -> tuple[float, int]:
        return timed(self.argv(), self.folder)

    def check(self) -> tuple[float, int] | None:
        return None


class PromptBundle(Tool):
    name = "promptbundle"
    command: ClassVar[list[str]] = [str(Path(sys.executable).with_name("promptbundle"))]

    def argv(self) -> list[str]:
        return [*self.command, "build", "--quiet"]

    def clean(self) -> None:
        for name in ("dist", ".promptbundle-cache"):
            shutil.rmtree(self.folder / name, ignore_errors=True)

    def write(self, count: int, targets: int, variant: int) -> None:
        specs = agent_specs(count, self.workload)
        write_promptbundle(self.folder, specs, PROMPTBUNDLE_TARGETS[:targets], variant=variant)

    def agent_files(self, agent: str) -> list[Path]:
        return [self.folder / "agents" / f"{agent}.md"]

    def check(self) -> tuple[float, int] | None:
        return timed([*self.command, "check"], self.folder)


class Rulesync(Tool):
    name = "rulesync"
    command: ClassVar[list[str]] = []

    def argv(self) -> list[str]:
        return [*self.command, "generate", "--silent"]

    def clean(self) -> None:
        for name in (".claude", ".opencode", ".agents", f"{RULESYNC_PLUGIN_ROOT}/agents"):
            shutil.rmtree(self.folder / name, ignore_errors=True)

    def write(self, count: int, targets: int, variant: int) -> None:
        specs = agent_specs(count, self.workload)
        write_rulesync(self.folder, specs, RULESYNC_TARGETS[:targets], variant=variant)

    def agent_files(self, agent: str) -> list[Path]:
        found = [self.folder / ".rulesync" / "subagents" / f"{agent}.md"]
        skill = self.folder / ".rulesync" / "skills" / agent / "SKILL.md"
        return found + ([skill] if skill.is_file() else [])


def _body(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return text.split("\n---\n", 1)[1]


def check_same_bodies(pb: Path, rs: Path) -> None:
    """Both tools wrote the same claude-code bodies (the workloads are equivalent)."""
    ours = sorted((pb / "dist" / "claude-code" / "agents").glob("*.md"))
    theirs = sorted((rs / ".claude" / "agents").glob("*.md"))
    if [p.name for p in ours] != [p.name for p in theirs]:
        sys.exit(f"different agent files: {len(ours)} vs {len(theirs)}")
    step = max(1, len(ours) // 10)
    for a, b in zip(ours[::step], theirs[::step], strict=True):
        if _body(a) != _body(b):
            sys.exit(f"bodies differ: {a} vs {b}")


def bench_case(
    count: int, targets: int, reps: int, work: Path, workload: str = "bench"
) -> dict[str, dict[str, Sample]]:
    base = work / f"{workload}-n{count}-t{targets}"
    shutil.rmtree(base, ignore_errors=True)
    tools: list[Tool] = [PromptBundle(base / "promptbundle"), Rulesync(base / "rulesync")]
    for tool in tools:
        tool.workload = workload
    results = {case: {tool.name: Sample() for tool in tools} for case in CASES}
    variant = 0
    for tool in tools:
        tool.write(count, targets, variant)
    for rep in range(reps):
        order = tools if rep % 2 == 0 else tools[::-1]
        for tool in order:
            tool.clean()
        for tool in order:
            results["cold"][tool.name].add(*tool.run())
        if rep == 0:
            check_same_bodies(tools[0].folder, tools[1].folder)
        for tool in order:
            results["no-op"][tool.name].add(*tool.run())
        for tool in order:
            tool.edit_agent(count, rep)
        for tool in order:
            results["one agent edited"][tool.name].add(*tool.run())
        variant += 1
        for tool in order:
            tool.write(count, targets, variant)
        for tool in order:
            results["one fragment changed"][tool.name].add(*tool.run())
        for tool in order:
            checked = tool.check()
            if checked is not None:
                results["check"][tool.name].add(*checked)
    return results


def floor(folder: Path, reps: int) -> Sample:
    """The physical floor of a cold build in Python: read every source of the bundle and
    write every file of its output folder (same sizes, same paths) into a fresh folder."""
    sources = [
        path
        for name in ("promptbundle.toml", "agents", "fragments", "targets")
        for path in sorted((folder / name).rglob("*") if (folder / name).is_dir() else [])
        if path.is_file()
    ] + [folder / "promptbundle.toml"]
    outputs = [p for p in sorted((folder / "dist").rglob("*")) if p.is_file()]
    contents = {p.relative_to(folder / "dist"): p.read_bytes() for p in outputs}
    sample = Sample()
    for rep in range(reps):
        into = folder.parent / f"floor-{rep}"
        start = time.perf_counter()
        for path in sources:
            path.read_bytes()
        for rel, content in contents.items():
            target = into / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        sample.add(time.perf_counter() - start, 0)
        shutil.rmtree(into, ignore_errors=True)
    return sample


def watch_latency(folder: Path, count: int, reps: int) -> Sample:
    """Seconds from writing one agent's source to its output holding the edit, with
    `promptbundle watch` running (after its first build), polled every millisecond."""
    agent = f"agent-{int(count * EDITED_AGENT):04d}"
    source = folder / "agents" / f"{agent}.md"
    output = folder / "dist" / "claude-code" / "agents" / f"{agent}.md"
    proc = subprocess.Popen(
        [*PromptBundle.command, "watch"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sample = Sample()
    try:
        _wait_for(lambda: output.is_file(), 120)
        time.sleep(2)  # the first build is done and the watcher settled
        for rep in range(reps):
            marker = f"Watched edit {rep}."
            text = source.read_text(encoding="utf-8") + f"\n{marker}\n"
            start = time.perf_counter()
            source.write_text(text, encoding="utf-8")
            _wait_for(lambda m=marker: m in _read(output), 30)  # type: ignore[misc]
            sample.add(time.perf_counter() - start, 0)
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return sample


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _wait_for(done: Callable[[], bool], seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while not done():
        if time.perf_counter() > deadline:
            sys.exit("promptbundle watch did not write the edit in time")
        time.sleep(0.001)


def startup(argv: Sequence[str], reps: int) -> Sample:
    sample = Sample()
    for _ in range(reps):
        sample.add(*timed(argv, BENCH))
    return sample


class Report:
    work = ""
    floors: ClassVar[dict[tuple[str, int, int], Sample]] = {}


def _filesystem(path: Path) -> str:
    """The file system type holding `path` (from /proc/mounts), or 'unknown'."""
    path.mkdir(parents=True, exist_ok=True)
    best, kind = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) > 2 and str(path).startswith(fields[1]) and len(fields[1]) > len(best):
                best, kind = fields[1], fields[2]
    except OSError:
        pass
    return kind


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {mem_kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        memory = ""
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, Node {node}"
    )


def _shown(path: str) -> str:
    """A path relative to the repository when inside it."""
    try:
        return Path(os.path.abspath(path)).relative_to(BENCH.parent).as_posix()
    except ValueError:
        return path


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.3f}" if theirs else "-"


Results = dict[tuple[str, int, int], dict[str, dict[str, Sample]]]


def _row(workload: str, count: int, targets: int, case: str, samples: dict[str, Sample]) -> str:
    pb, rs = samples["promptbundle"], samples["rulesync"]
    if not rs.seconds:  # rulesync has no such command
        return (
            f"| {workload} | {count} | {targets} | {case} | {pb.median:.3f} | - | - "
            f"| {pb.peak_mb:.0f} | - |"
        )
    return (
        f"| {workload} | {count} | {targets} | {case} | {pb.median:.3f} | {rs.median:.3f} | "
        f"{_ratio(pb.median, rs.median)} | {pb.peak_mb:.0f} | {rs.peak_mb:.0f} |"
    )


def report(
    results: Results,
    watched: dict[tuple[str, int, int], Sample],
    startups: tuple[Sample, Sample, Sample],
    reps: int,
    total: float,
) -> str:
    version, python, rs_version = startups
    lines = [
        "# Benchmarks: promptbundle and rulesync",
        "",
        "Written by `make bench` (`bench/run.py`); do not edit by hand. Two workloads come from",
        "`bench/generate.py`, the same agents written for both tools (rulesync sources hold the",
        "expanded bodies; about 150 lines rendered, variables, loops and conditionals):",
        "",
        "- *bench*: N agents, each including the shared `core` fragment and 2 to 4 of 11 others.",
        "  Targets: 1 = Claude Code subagents; 4 = Claude Code subagents, opencode agents, a",
        "  Claude Code plugin and Prompt Skills",
        f"  (rulesync: `{','.join(RULESYNC_TARGETS)}`).",
        "- *issue*: the performance issue's workload: 1,000 agents, each including 3 to 5 of",
        "  the 12 fragments (`core` in about a third). Targets: 1 = Claude Code; 2 = Claude",
        "  Code and opencode.",
        "",
        "Each case is the median of the repetitions, the two tools alternating: *cold* has no",
        "output and no cache, *no-op* runs again with nothing changed, *one agent edited*",
        "appends a line to one agent's source (both tools), *one fragment changed* edits `core`",
        "(for rulesync every expanded source that holds it is rewritten before the clock",
        "starts), *check* is `promptbundle check` after that build (rulesync has none). Peak",
        "memory is the largest resident set of the tool's process tree (`ru_maxrss`), over all",
        "runs of the case. Ratio = promptbundle / rulesync.",
        "",
        f"- Machine: {machine()}",
        f"- rulesync 17.0.0 (`{_shown(Rulesync.command[0])}`); promptbundle from this tree",
        f"- Workloads in {Report.work}; {reps} repetitions per case; whole run took {total:.0f} s",
        "",
        "| workload | agents | targets | case | promptbundle (s) | rulesync (s) | ratio | "
        "promptbundle peak (MB) | rulesync peak (MB) |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (workload, count, targets), cases in results.items():
        lines += [_row(workload, count, targets, case, samples) for case, samples in cases.items()]
    lines += [
        "",
        "The floor: reading every source and writing every output file (same paths and",
        "sizes) in Python, in one process, no rendering (median).",
        "",
        "| workload | agents | targets | floor (s) |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {w} | {n} | {t} | {sample.median:.3f} |" for (w, n, t), sample in Report.floors.items()
    ]
    if watched:
        lines += [
            "",
            "`promptbundle watch` running, one agent's source written: seconds until its output",
            "holds the edit (median, polled every millisecond).",
            "",
            "| workload | agents | targets | watch latency (s) | slowest (s) |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {w} | {n} | {t} | {sample.median:.3f} | {max(sample.seconds):.3f} |"
            for (w, n, t), sample in watched.items()
        ]
    lines += [
        "",
        "| start-up | median (ms) |",
        "| --- | ---: |",
        f"| `promptbundle --version` | {version.median * 1000:.0f} |",
        f"| `python -c pass` (same interpreter) | {python.median * 1000:.0f} |",
        f"| `rulesync --version` | {rs_version.median * 1000:.0f} |",
        "",
    ]
    return "\n".join(lines)


def install_rulesync(path: Path | None) -> list[str]:
    if path is not None:
        return [str(path)]
    binary = BENCH / "node_modules" / ".bin" / "rulesync"
    if not binary.exists():
        subprocess.run(
            [
                "npm",
                "install",
                "--no-save",
                "--no-package-lock",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(BENCH),
                "rulesync@17.0.0",
            ],
            check=True,
        )
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    if version.strip() != "17.0.0":
        sys.exit(f"expected rulesync 17.0.0, found {version.strip()!r} at {binary}")
    return [str(binary)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--targets", default="1,4")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--issue-agents", type=int, default=1000)
    parser.add_argument("--issue-targets", default="1,2")
    parser.add_argument("--rulesync", type=Path, default=None, help="a rulesync executable")
    parser.add_argument("--readme", type=Path, default=BENCH / "README.md")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="folder for the workloads (default: a RAM disk folder if any, else bench/work)",
    )
    args = parser.parse_args()
    Rulesync.command = install_rulesync(args.rulesync)
    temporary = args.work is None and RAM_DISK.is_dir() and os.access(RAM_DISK, os.W_OK)
    if args.work is not None:
        work = args.work.resolve()
    elif temporary:
        work = Path(tempfile.mkdtemp(prefix="promptbundle-bench-", dir=RAM_DISK))
    else:
        work = BENCH / "work"
    Report.work = (
        f"a temporary folder under {RAM_DISK} ({_filesystem(work)})"
        if temporary
        else f"{_shown(str(work))} ({_filesystem(work)})"
    )
    started = time.perf_counter()
    results: Results = {}
    watched: dict[tuple[str, int, int], Sample] = {}
    runs = [
        ("bench", int(n), int(t)) for n in args.sizes.split(",") for t in args.targets.split(",")
    ]
    if "issue" in args.workloads.split(","):
        runs += [("issue", args.issue_agents, int(t)) for t in args.issue_targets.split(",")]
    if "bench" not in args.workloads.split(","):
        runs = [run for run in runs if run[0] != "bench"]
    try:
        for workload, count, targets in runs:
            print(f"bench: {workload}, {count} agents x {targets} target(s)", file=sys.stderr)
            results[workload, count, targets] = bench_case(
                count, targets, args.reps, work, workload
            )
            folder = work / f"{workload}-n{count}-t{targets}" / "promptbundle"
            Report.floors[workload, count, targets] = floor(folder, args.reps)
            if workload == "issue":
                folder = work / f"{workload}-n{count}-t{targets}" / "promptbundle"
                watched[workload, count, targets] = watch_latency(folder, count, args.reps)
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    startups = (
        startup([*PromptBundle.command, "--version"], 20),
        startup([sys.executable, "-c", "pass"], 20),
        startup([*Rulesync.command, "--version"], 5),
    )
    text = report(results, watched, startups, args.reps, time.perf_counter() - started)
    args.readme.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

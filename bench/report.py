"""``bench/RESULTS.md``: the tables a reader needs, rendered from one run's :class:`Results`."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

from bench import docker_target, goals, grpc_bench, logging_cost
from bench import shipyard_timing as timing
from bench.envbuild import EnvBuilds
from bench.measure import TargetResult
from bench.results import Results
from bench.settings import MODEL_NAME, WORKERS

PATHS = {
    "v1": f"KServe V1 (`POST /v1/models/{MODEL_NAME}:predict`, one row in `instances`)",
    "v2": f"Open Inference Protocol V2 (`POST /v2/models/{MODEL_NAME}/infer`, one FP32 [1, 4])",
}
QUIET_CORES = 0.15
"""Background load (cores busy with neither the target nor wrk) below which a run is quiet."""


def _background_cores(r: Results) -> list[tuple[float, str]]:
    """Per load run: cores busy with anything but the target and wrk, and which run it was."""
    found = []
    for target in r.targets:
        for run in target.runs:
            seconds = run.load.duration_s
            if not seconds:
                continue
            own = sum(run.cpu_s_by_role.values()) / seconds + run.load.wrk_cpu_share
            label = f"{target.name} {run.protocol} c={run.load.concurrency}"
            found.append((max(0.0, run.machine_busy * r.machine.cores - own), label))
    return found


def _noise(r: Results) -> str:
    """How much else the machine did during the load runs, measured from ``/proc``."""
    found = sorted(_background_cores(r))
    if not found:
        return ""
    median = found[len(found) // 2][0]
    worst, where = found[-1]
    if worst < QUIET_CORES:
        return (
            f"**Background load**: quiet; at most {worst:.2f} cores of {r.machine.cores} were busy "
            "with anything but the target and wrk during a load run."
        )
    return (
        f"**Noise warning.** Other work ran on this {r.machine.cores}-core machine during the run: "
        f"besides the target and wrk, a median of {median:.2f} cores and at most {worst:.2f} "
        f"({where}) were busy, so targets measured at different moments met different "
        "background load (*machine busy* shows all cores; the target's own share is in "
        "*Where the CPU goes*). Rerun the same command on a quiet machine to compare."
    )


def _x(ratio: float | None) -> str:
    return f"{ratio:.2f}x" if ratio is not None else "n/a"


def _met(met: bool | None) -> str:
    return {True: "**met**", False: "**not met**", None: "not measured yet"}[met]


def _header(r: Results) -> list[str]:
    mode = "quick (short durations, development)" if r.settings.quick else "full"
    s = r.settings
    return [
        "# Benchmark results",
        "",
        f"Made {r.date} with `{r.command}` ({mode}); the whole run took {r.wall_s / 60:.1f} min.",
        f"Each target: {s.warmup_s:g} s warm-up, then {s.duration_s:g} s per concurrency "
        f"({', '.join(map(str, s.concurrencies))}), wrk closed loop, loopback, one target at a "
        "time; then the headline V1 comparisons again with the targets taking turns (see "
        "*Interleaved re-check*). Ratios are to the **best peer** of the same table (highest "
        "req/s, lowest latency): req/s above 1.00x and latency below 1.00x are better than the "
        "best peer.",
        "",
        _noise(r),
        "",
    ]


def _goals(r: Results) -> list[str]:
    lines = ["## Issue 7 targets", "", "| Target | Measured | Verdict |", "|---|---|---|"]
    for v in goals.verdicts(r):
        lines.append(f"| {v.goal} | {v.measured} | {_met(v.met)} |")
    return [*lines, ""]


def _interleaved(r: Results) -> list[str]:
    if not r.interleaved:
        return []
    lines = [
        "## Interleaved re-check (V1)",
        "",
        "After the sweep, one Shipyard server with both deployments (batching off and on) and "
        "the best V1 peer of each headline figure run side by side and take turns at one "
        "concurrency, the order reversed every round. The V1 verdicts above are the median of "
        "the per-round ratios to the peer (turns seconds apart, so drift cancels out); the "
        "medians of each figure are beside them. Per round: req/s, then p50 ms.",
        "",
    ]
    for check in r.interleaved:
        rounds = max(len(runs) for runs in check.runs.values())
        head = " | ".join(f"round {i + 1}" for i in range(rounds))
        lines += [
            f"Concurrency {check.concurrency}, {check.run_s:g} s per turn, first round's order: "
            f"{', '.join(check.order)}.",
            "",
            f"| target | {head} | median req/s | median p50 ms | errors |",
            "|---|" + "---:|" * (rounds + 3),
        ]
        for name, runs in check.runs.items():
            cells = " | ".join(f"{run.rps:,.0f} / {run.p50_ms:.2f}" for run in runs)
            rps, p50 = check.median(name, "rps") or 0.0, check.median(name, "p50_ms") or 0.0
            lines.append(f"| {name} | {cells} | {rps:,.0f} | {p50:.2f} | {check.errors(name)} |")
        peer = next((name for name in check.runs if not goals.is_shipyard(name)), "")
        for name in (n for n in check.runs if peer and goals.is_shipyard(n)):
            rps_r, p50_r = check.ratios(name, peer, "rps"), check.ratios(name, peer, "p50_ms")
            if not rps_r or not p50_r:
                continue
            cells = " | ".join(f"{a:.2f}x / {b:.2f}x" for a, b in zip(rps_r, p50_r, strict=False))
            lines.append(
                f"| {name} ÷ {peer} | {cells} | **{statistics.median(rps_r):.2f}x** "
                f"| **{statistics.median(p50_r):.2f}x** | |"
            )
        lines.append("")
    return lines


def _load_tables(r: Results) -> list[str]:
    lines = ["## Throughput and latency", ""]
    for protocol in goals.protocols(r):
        lines += [
            f"### {PATHS.get(protocol, protocol)}",
            "",
            "| conc. | target | req/s | vs best | p50 ms | vs best | p99 ms | vs best "
            "| errors (non-2xx / socket) | machine busy |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for concurrency in r.settings.concurrencies:
            rows = goals.table(r, protocol, concurrency)
            for row in sorted(rows, key=lambda x: -x.run.load.rps):
                ld = row.run.load
                name = f"**{row.target}**" if goals.is_shipyard(row.target) else row.target
                lines.append(
                    f"| {concurrency} | {name} | {ld.rps:,.0f} | {_x(row.rps_ratio)} "
                    f"| {ld.p50_ms:.2f} | {_x(row.p50_ratio)} | {ld.p99_ms:.2f} "
                    f"| {_x(row.p99_ratio)} | {ld.non2xx} / {ld.socket_errors} "
                    f"| {row.run.machine_busy:.0%} |"
                )
        lines.append("")
    return lines


def _cpu(r: Results) -> list[str]:
    top = max(r.settings.concurrencies)
    lines = [
        f"## Where the CPU goes (concurrency {top})",
        "",
        "CPU time of each role of the target's process tree during the run, per request, and "
        "in cores (2 = the whole machine). wrk's own share is in the last column.",
        "",
        "| target | protocol | role: CPU µs per request (cores) | target cores | wrk cores |",
        "|---|---|---|---:|---:|",
    ]
    for t in r.targets:
        for run in t.runs:
            if run.load.concurrency != top or not run.load.requests:
                continue
            secs, n = run.load.duration_s, run.load.requests
            roles = sorted(run.cpu_s_by_role.items(), key=lambda kv: -kv[1])
            parts = [f"{role}: {cpu / n * 1e6:,.0f} ({cpu / secs:.2f})" for role, cpu in roles]
            total = sum(run.cpu_s_by_role.values()) / secs
            lines.append(
                f"| {t.name} | {run.protocol} | {'; '.join(parts)} | {total:.2f} "
                f"| {run.load.wrk_cpu_share:.2f} |"
            )
    return [*lines, ""]


def _startup(r: Results) -> list[str]:
    f = r.floor
    lines = [
        "## Start-up and the floor",
        "",
        f"**In-process floor** (no HTTP): `model.predict(np.asarray([row]))` takes "
        f"p50 {f.p50_us:.0f} µs, p99 {f.p99_us:.0f} µs, mean {f.mean_us:.0f} µs over "
        f"{f.calls:,} calls (project interpreter). At that cost one core could answer "
        f"~{1e6 / f.mean_us:,.0f} predictions/s.",
        "",
    ]
    shipyard = r.target("shipyard")
    deploy = shipyard.extra.get("deploy") if shipyard else None
    if shipyard is not None and isinstance(deploy, dict):
        lines += [
            "**Shipyard, deploy to first prediction** (model already uploaded, fresh server, no "
            "environment). Polled = `deploy(await_update=None)`, then a prediction through the "
            "gateway every 20 ms until a 2xx; SDK wait = `deploy()` (polls status every 0.25 s "
            "until RUNNING), then one prediction.",
            "",
            *timing.deploy_table(deploy["runs"]),
            "",
        ]
        lines += _cold_start_lines(deploy)
    lines += docker_target.startup_lines(r.target(docker_target.NAME))
    lines += [
        "**Process start to first prediction** (Shipyard: server start to healthy API, plus its "
        "first deploy to first prediction, upload not counted; the issue quotes 7-45 s for "
        "peers on this kind of machine):",
        "",
        "| target | seconds |",
        "|---|---:|",
    ]
    lines += [f"| {t.name} | {t.start_to_first_s:.1f} |" for t in r.targets]
    up = shipyard.extra.get("server_up_s") if shipyard else None
    if isinstance(up, int | float):
        lines += ["", f"Shipyard's server answered `/healthz` {up:.1f} s after it started."]
    return [*lines, ""]


def _cold_start_lines(deploy: dict[str, object]) -> list[str]:
    starts = deploy.get("cold_starts")
    if not isinstance(starts, list) or not starts:
        return []
    lines = [
        "**Shipyard, first response from zero instances**: a deployment with `num_instances=0` "
        "and `scale_to_zero_after_s=2`; once it is IDLE with no replica left, one prediction is "
        "timed through the gateway (held there while a replica starts):",
        "",
        "| try | HTTP status | seconds |",
        "|---:|---:|---:|",
    ]
    for i, c in enumerate(starts, 1):
        lines.append(f"| {i} | {c['status']} | {c['seconds']:.2f} |")
    return [*lines, ""]


CASES = {
    ("shipyard", "cold cache"): "empty uv cache, new home",
    ("shipyard", "warm cache"): "new home, same uv cache",
    ("shipyard", "reuse"): "new manager, same home: the environment exists",
    ("pip", "cold cache"): "new venv, empty pip cache",
    ("pip", "warm cache"): "new venv, same pip cache",
    ("pip", "warm cache, --no-compile"): "new venv, same pip cache, no bytecode compiled",
}


def environment_lines(b: EnvBuilds | None) -> list[str]:
    """The *Environment builds* section (empty when nothing was measured)."""
    if b is None:
        return []
    runtime = [p for p in b.packages if p.split("==")[0] in ("starlette", "uvicorn")]
    lines = [
        "## Environment builds",
        "",
        f"A model's `requirements.txt` with `{'`, `'.join(b.requirements)}` on base "
        f"`{b.base}` (Shipyard adds its replica runtime: {', '.join(runtime) or 'none'}), "
        f"locked to {len(b.packages)} packages. **Shipyard**: `EnvironmentManager` driven "
        "directly, wall time from the first `status()` to READY (resolve with "
        "`uv pip compile`, then `uv venv` + `uv pip sync`, files hardlinked from the uv cache); "
        "each warm build gets a new home, so it resolves again, asking the package index (uv "
        "revalidates the pages it cached). **Plain pip**: `python -m venv` "
        "(with pip) + `pip install -r` of the same lock, a fresh `PIP_CACHE_DIR` then the same "
        "one again; both download from PyPI (this machine's pip configuration, a local wheel "
        f"folder and mirror, is turned off). {b.python}, {b.uv}, {b.pip} "
        "(the virtualenv's, from `ensurepip`; pip compiles bytecode by default, uv does not).",
        "",
        "| tool | case | seconds | steps |",
        "|---|---|---:|---|",
    ]
    for x in b.builds:
        tool = "**Shipyard**" if x.tool == "shipyard" else "plain pip"
        steps = "; ".join(f"{k} {v:.{3 if v < 0.1 else 2}f} s" for k, v in x.steps.items())
        seconds = "failed" if x.seconds is None else f"{x.seconds:.{3 if x.seconds < 0.1 else 2}f}"
        detail = "; ".join(part for part in (steps, x.note) if part)
        lines.append(
            f"| {tool} | {x.case} ({CASES.get((x.tool, x.case), '')}) | {seconds} | {detail} |"
        )
    warm, pip = b.median_s("shipyard", "warm cache"), b.median_s("pip", "warm cache")
    if warm and pip:
        lines += [
            "",
            f"Warm cache: Shipyard {warm:.2f} s (median) vs plain pip {pip:.1f} s, "
            f"{pip / warm:.0f}x faster.",
        ]
    if b.cold_cache_mib:
        cold = b.median_s("shipyard", "cold cache")
        took = f", in {cold:.1f} s in all" if cold else ""
        lines += [
            "",
            f"The cold build filled the uv cache with {b.cold_cache_mib:,.0f} MiB (unpacked "
            f"wheels and index pages){took}: cold figures depend on the network to the index.",
        ]
    if b.check:
        lines += ["", f"The warm-cache environment imports scikit-learn and numpy: `{b.check}`."]
    if b.error:
        lines += ["", f"The measurement stopped early: {b.error}"]
    return [*lines, ""]


def _memory(r: Results) -> list[str]:
    lines = [
        "## Resident memory (after the load)",
        "",
        "VmRSS per process (Pss in brackets: shared pages split between sharers). *bare* is "
        '`python -c "import sklearn, joblib; m = joblib.load(...)"` on the same interpreter.',
        "",
        "| target | role | processes | RSS MiB (Pss) | bare RSS MiB | worker - bare |",
        "|---|---|---:|---|---:|---:|",
    ]
    for t in r.targets:
        lines += _memory_rows(t, r)
    return [*lines, ""]


def _memory_rows(t: TargetResult, r: Results) -> list[str]:
    by_role: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for m in t.memory:
        by_role[m.role].append((m.rss_mib, m.pss_mib))
    bare = r.bare.get(t.name)
    rows = []
    for role, mems in sorted(by_role.items(), key=lambda kv: kv[0] != t.worker_role):
        each = ", ".join(f"{rss:.0f} ({pss:.0f})" for rss, pss in mems)
        is_worker = role == t.worker_role and bare is not None
        base = f"{bare.rss_mib:.0f}" if is_worker and bare else ""
        delta = f"+{max(m[0] for m in mems) - bare.rss_mib:.0f}" if is_worker and bare else ""
        seen = t.processes_seen.get(role, len(mems))
        count = f"{len(mems)} ({seen} seen: restarts)" if seen > len(mems) else str(len(mems))
        rows.append(f"| {t.name} | {role} | {count} | {each} | {base} | {delta} |")
    total_rss = sum(m.rss_mib for m in t.memory)
    total_pss = sum(m.pss_mib for m in t.memory)
    total = f"{total_rss:.0f} ({total_pss:.0f})"
    rows.append(f"| {t.name} | *all processes* | {len(t.memory)} | {total} | | |")
    return rows


def _generator(r: Results) -> list[str]:
    runs = [(t.name, run) for t in r.targets for run in t.runs]
    if not runs:
        return []
    name, worst = max(runs, key=lambda pair: pair[1].load.wrk_cpu_share)
    per_request = worst.load.wrk_cpu_s / max(1, worst.load.requests) * 1e6
    return [
        "## The load generator is not the bottleneck",
        "",
        f"{r.machine.wrk}, {r.settings.wrk_threads} thread, Lua script `bench/wrk/post.lua` "
        "(fixed body, non-2xx counted in the `response` hook). Its CPU time is measured around "
        f"every run: at most {worst.load.wrk_cpu_share:.0%} of one core (against "
        f"{name} at {worst.load.rps:,.0f} req/s), about {per_request:.0f} µs of CPU per "
        "request, so it could drive over ten times the fastest target's rate from one core. "
        "Every target used far more CPU per request than wrk (see *Where the CPU goes*).",
        "",
    ]


def _setup(r: Results) -> list[str]:
    lines = [
        "## Setup",
        "",
        f"Model: `LogisticRegression(max_iter=500)` on iris, trained by the bench, saved with "
        f"joblib; every target serves that file. Worker processes: **{WORKERS}** everywhere "
        "(Shipyard replicas = peer workers). Logging: per-request logs off, loggers at warning; "
        "`PYTHONWARNINGS=ignore` for every target. Bytecode: this machine sets "
        "`PYTHONDONTWRITEBYTECODE=1`, so every target gets a bytecode cache compiled before the "
        "run (`PYTHONPYCACHEPREFIX`, `bench/bytecode.py`), as any production host has.",
        "",
    ]
    for t in r.targets:
        lines.append(f"- **{t.name}**: " + "; ".join(t.notes))
    lines += ["", "| target | package versions | venv install this run |", "|---|---|---:|"]
    for name, packages in r.versions.items():
        pins = ", ".join(f"{k} {v}" for k, v in packages.items())
        lines.append(f"| {name} | {pins} | {r.install_s.get(name, 0.0):.0f} s |")
    m = r.machine
    lines += [
        "",
        f"Machine: {m.cores} cores ({m.cpu_model}), {m.memory_gib} GiB, {m.os}, kernel "
        f"{m.kernel}, Python {m.python}, {m.uv}, {m.wrk}; Shipyard {m.shipyard} at "
        f"{m.shipyard_commit}.",
        "",
    ]
    return lines


def _pending(r: Results) -> list[str]:
    lines = []
    if r.pending:
        lines += ["## Not measured yet", ""]
        lines += [f"- {p.item}: not measured yet: {p.reason}." for p in r.pending]
        lines += ["", "The hooks are the functions of `bench/pending.py`.", ""]
    if r.skipped:
        lines += ["## Skipped targets", ""]
        lines += [f"- **{s.name}**: {s.reason}" for s in r.skipped]
        lines.append("")
    return lines


def render(r: Results) -> str:
    """The whole RESULTS.md."""
    sections = [
        _header(r),
        _goals(r),
        _interleaved(r),
        _load_tables(r),
        grpc_bench.report_lines(r.grpc),
        logging_cost.report_lines(r.inference_logging),
        _cpu(r),
        _startup(r),
        environment_lines(r.environment_builds),
        _memory(r),
        _generator(r),
        _pending(r),
        _setup(r),
        ["## Reproduce", "", "```bash", r.command, "```", ""],
    ]
    return "\n".join(line for section in sections for line in section)


def write(r: Results, path: Path) -> None:
    path.write_text(render(r))

"""The watchdog a job runs under: ``python -m mlp._jobrun [--memory BYTES] [--policy stop|warn]
-- COMMAND...``.

Ray does not enforce memory requests, so this runs the job's command as its child, samples
the child's process tree every second (memory, CPU) and records both on the job's run. Past
the request it stops the job (or warns, by policy) and says so plainly; a child killed by a
signal (the kernel's or Ray's out-of-memory killer) is recognised too. What it saw goes on
the run as tags, which the server turns into the job's final message.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time

from ._jobspec import human_bytes

SAMPLE_EVERY = float(os.environ.get("MLP_JOB_SAMPLE_SECONDS", "1") or 1)
#: Tags the server reads when the job ends.
TAG_PEAK = "mlp.job.peak_memory"
TAG_OOM = "mlp.job.oom"


def _tree(proc) -> list:
    import psutil

    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return []


def _sample(procs: list) -> tuple[int, float]:
    import psutil

    rss, cpu = 0, 0.0
    for p in procs:
        try:
            with p.oneshot():
                rss += p.memory_info().rss
                cpu += p.cpu_percent(None)
        except psutil.Error:
            continue
    return rss, cpu


def _kill_tree(proc, grace: float = 3.0) -> None:
    import psutil

    procs = _tree(proc)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _gone, alive = psutil.wait_procs(procs, timeout=grace)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()


def _advice(peak: int) -> str:
    # Room above the peak, rounded up to a size people write.
    want = peak * 1.25
    for unit, size in (("GiB", 2**30), ("MiB", 2**20)):
        if want >= size or unit == "MiB":
            n = max(1, int(-(-want // size)))
            return f"{n}{unit}"
    return f"{int(want)}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mlp._jobrun")
    p.add_argument("--memory", type=int, default=0, help="bytes requested (0: none)")
    p.add_argument("--policy", choices=["stop", "warn"], default="stop")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        p.error("no command to run")
    import psutil

    child = subprocess.Popen(cmd)
    proc = psutil.Process(child.pid)
    # Ray stops a job by signalling its process group: the child is in it too. Forward a
    # signal sent to this process alone.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: child.send_signal(s))

    peak, over, warned, step = 0, False, False, 0
    run = None
    try:
        import mlp

        run = mlp.active_run()  # the job's run (MLP_RUN_ID), reached with the job's token
    except Exception as e:  # the watchdog must never keep the job from running
        print(f"mlp: the job's metrics will not be recorded ({e})", file=sys.stderr)
    start = time.time()
    _sample(_tree(proc))  # primes cpu_percent
    pause = min(0.2, SAMPLE_EVERY)  # a first look soon, so a short job has a peak too
    while child.poll() is None:
        time.sleep(pause)
        pause = SAMPLE_EVERY
        if child.poll() is not None:
            break
        rss, cpu = _sample(_tree(proc))
        if rss == 0:
            continue  # the child is between fork and exec, or just gone: nothing to record
        peak = max(peak, rss)
        if run is not None:
            try:
                t = time.time()
                run.log_metric("system/job_memory_mb", rss / 2**20, step=step, timestamp=t)
                run.log_metric("system/job_cpu_percent", cpu, step=step, timestamp=t)
            except Exception:  # noqa: S110 - a full buffer or a refused point: keep watching
                pass
        step += 1
        if args.memory and rss > args.memory:
            if args.policy == "stop":
                over = True
                print(f"\nmlp: out of memory: the job uses {human_bytes(rss)}, over the "
                      f"{human_bytes(args.memory)} it asked for; stopping it. Ask for more "
                      f"with memory='{_advice(rss)}'", file=sys.stderr, flush=True)
                _kill_tree(proc)
                break
            if not warned:
                warned = True
                print(f"\nmlp: warning: the job uses {human_bytes(rss)}, over the "
                      f"{human_bytes(args.memory)} it asked for; other jobs on its node may "
                      f"run short. Ask for more with memory='{_advice(rss)}'",
                      file=sys.stderr, flush=True)
    code = child.wait()
    killed_by = -code if code < 0 else None
    oom = None
    if over:
        oom = {"kind": "stopped", "peak": peak, "requested": args.memory}
    elif killed_by == signal.SIGKILL:
        # Not us: the kernel's OOM killer or Ray's memory monitor (both SIGKILL).
        oom = {"kind": "killed", "peak": peak, "requested": args.memory or None}
    if run is not None:
        try:
            tags = {TAG_PEAK: str(peak)}
            if oom is not None:
                tags[TAG_OOM] = json.dumps(oom)
            run.set_tags(tags)
            mlp.flush()
        except Exception as e:
            print(f"mlp: could not record the job's memory use ({e})", file=sys.stderr)
    if os.environ.get("MLP_JOB_DEBUG"):
        print(f"mlp: ran {time.time() - start:.1f} s, peak {human_bytes(peak)}",
              file=sys.stderr)
    if over:
        return 137
    return code if code >= 0 else 128 + (killed_by or 0)


if __name__ == "__main__":
    sys.exit(main())

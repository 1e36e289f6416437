"""``%mlp`` and ``%%mlp``: the SDK as IPython magics.

    %load_ext mlp
    %mlp status
    %%mlp track --experiment demo --name baseline
    %mlp runs --experiment demo --where "metrics.loss < 0.1"
    %mlp show demo/baseline
    %mlp compare @latest~1 @latest --at best:val_loss
    %mlp models
    %mlp promote churn 3 production --comment "auc 0.91"
    %mlp approve 12
    %mlp features customer_stats
    %mlp materialize customer_stats
    %mlp submit train.py --cpus 2 --memory 4GiB -- --lr 0.1
    %%mlp job --cpus 2 --inputs df
    %mlp jobs
    %mlp logs 1a2b3c4d --follow
    %mlp cancel 1a2b3c4d

Every command has ``--help``; bad arguments print the usage, never a traceback.
"""

from __future__ import annotations

import argparse
import ast
import shlex
import sys
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from . import _api, widgets
from .errors import InvalidInput, MLPError


class _Usage(Exception):
    """argparse wanted to exit: the message (usage or help) is already printed."""


class TrackedCellError(Exception):
    """The cell of ``%%mlp track`` raised (its run is ``failed``): raised again, so the cell
    fails too (Run All stops; nbclient and papermill raise). Its traceback is the cell's,
    already shown: this shows none (``%debug`` still reaches the cell's frames)."""

    def _render_traceback_(self) -> list[str]:
        return []


class TrackedCellInterrupted(KeyboardInterrupt):
    """The cell of ``%%mlp track`` was interrupted (its run is ``killed``): an interrupt
    still, so the queued cells do not run; shown once, as ``TrackedCellError``."""

    def _render_traceback_(self) -> list[str]:
        return []


class _Parser(argparse.ArgumentParser):
    def exit(self, status: int = 0, message: str | None = None):  # type: ignore[override]
        if message:
            print(message, file=sys.stderr if status else sys.stdout, end="")
        raise _Usage

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _key_values(items: list[str], what: str) -> dict[str, Any]:
    """``["lr=0.1", "name=adam"]`` → ``{"lr": 0.1, "name": "adam"}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{what} {item!r} is not KEY=VALUE (e.g. lr=0.1)", field=what)
        try:
            out[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[key] = raw
    return out


def _parser() -> _Parser:
    p = _Parser(prog="%mlp", description="Track, search, compare and promote from the notebook.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("status", help="where runs go: transport, store, versions")

    run = sub.add_parser("run", help="start or end a run that spans several cells")
    run_sub = run.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    start = run_sub.add_parser("start", help="start a run and keep it active")
    _run_options(start)
    end = run_sub.add_parser("end", help="end the active run")
    end.add_argument("--status", default="finished", choices=["finished", "failed", "killed"])

    track = sub.add_parser("track", help="(%%%%mlp track) run the cell as a tracked run")
    _run_options(track)

    log = sub.add_parser("log", help="log params (KEY=VALUE ...) or, with --metrics, metrics")
    log.add_argument("pairs", nargs="+", metavar="KEY=VALUE")
    log.add_argument("--metrics", action="store_true", help="log the pairs as metrics")
    log.add_argument("--step", type=int, help="step of the metrics")

    runs = sub.add_parser("runs", help="search runs; shows a table")
    runs.add_argument("--experiment", "-e", action="append", help="(repeatable)")
    runs.add_argument("--where", "-w", help="a query, e.g. \"metrics.loss < 0.1\"")
    runs.add_argument("--order-by", "-o", action="append", help="field, -field for descending")
    runs.add_argument("--limit", "-n", type=int, default=50,
                      help="rows to show (default 50; in a kernel, rows per page of the table)")
    runs.add_argument("--frame", action="store_true",
                      help="return the DataFrame, not the interactive table")

    show = sub.add_parser("show", help="show a run: id, prefix, experiment/name or @latest")
    show.add_argument("run", help="run reference")

    compare = sub.add_parser("compare", help="compare runs: what changed in params, metrics, "
                             "code, environment, artifacts, tags",
                             description="Compare two or more runs; the first is the baseline. "
                             "e.g. %%mlp compare @latest~1 @latest")
    compare.add_argument("baseline", metavar="RUN", help="the baseline: id, prefix, "
                         "experiment/name, @latest or @latest~N")
    compare.add_argument("others", nargs="+", metavar="RUN", help="the runs to compare with it")
    compare.add_argument("--all", dest="only_changed", action="store_false",
                         help="show unchanged rows too")
    compare.add_argument("--at", default="last", metavar="last|best:KEY|STEP",
                         help="read metrics at the last step (default), at each run's best "
                         "step of KEY (e.g. best:val_loss), or at a step")

    models = sub.add_parser("models", help="registered models: latest version, stages, "
                            "aliases, open requests")
    models.add_argument("--like", help="name pattern, e.g. 'churn*'")
    model = sub.add_parser("model", help="one model: its versions, stages, aliases, requests")
    model.add_argument("name")
    promote = sub.add_parser("promote", help="request a stage change (applied when the "
                             "model's gate is met)",
                             description="e.g. %%mlp promote churn 3 production --comment "
                             "'auc 0.91'")
    promote.add_argument("name")
    promote.add_argument("version", help="version number, or @alias")
    promote.add_argument("stage", choices=["staging", "production", "archived", "none"])
    promote.add_argument("--comment", "-m", help="why")
    for verb, what in (("approve", "approve someone else's transition request"),
                       ("reject", "reject a transition request")):
        dec = sub.add_parser(verb, help=what)
        dec.add_argument("request", type=_request_id, help="request id (#12 or 12)")
        dec.add_argument("--comment", "-m")
    reqs = sub.add_parser("requests", help="transition requests (default: the open ones)")
    reqs.add_argument("name", nargs="?", help="only this model's")
    reqs.add_argument("--all", action="store_true", help="closed ones too")

    feats = sub.add_parser("features", help="feature views with freshness, or one view's "
                           "schema, statistics, freshness and newest rows",
                           description="e.g. %%mlp features, %%mlp features customer_stats")
    feats.add_argument("view", nargs="?", help="a view's name (none: list them all)")
    feats.add_argument("--version", type=int, help="an older version of the view")
    feats.add_argument("--sample", type=int, default=10, metavar="N",
                       help="newest rows to show (default 10; 0: none)")
    mat = sub.add_parser("materialize", help="write a view's latest values to the online "
                         "store", description="e.g. %%mlp materialize customer_stats "
                         "--start 2024-01-01; without --start: everything up to now, with "
                         "--incremental: since the last materialization")
    mat.add_argument("view")
    mat.add_argument("--start", help="first event time (ISO, e.g. 2024-01-01)")
    mat.add_argument("--end", help="last event time (ISO; default now)")
    mat.add_argument("--incremental", action="store_true",
                     help="from where the last materialization ended, plus late rows")
    sub_ = sub.add_parser("submit", help="run a script on the Ray cluster as a job (arguments "
                          "for the script go after --)",
                          description="e.g. %%mlp submit train.py --cpus 2 --memory 4GiB -- "
                          "--lr 0.1. The notebook's folder is the job's working directory; "
                          "its output streams into the cell.")
    sub_.add_argument("script", help="a .py or .sh file in the notebook's folder")
    _job_options(sub_)
    sub_.add_argument("--no-follow", dest="follow", action="store_false",
                      help="do not stream the job's output into the cell")
    job = sub.add_parser("job", help="(%%%%mlp job) run the cell's code on the cluster",
                         description="e.g. %%%%mlp job --cpus 2 --inputs df,model. The cell "
                         "runs as a script in the notebook's folder; names it uses but does "
                         "not define must be passed with --inputs.")
    _job_options(job)
    job.add_argument("--inputs", default="", metavar="NAME,NAME",
                     help="notebook variables the cell uses, sent with the job (pickled)")
    job.add_argument("--no-follow", dest="follow", action="store_false",
                     help="do not stream the job's output into the cell")
    jobs = sub.add_parser("jobs", help="jobs on the cluster, newest first")
    jobs.add_argument("--status", choices=["submitting", "pending", "running", "succeeded",
                                           "failed", "stopped"])
    jobs.add_argument("--limit", "-n", type=int, default=20)
    jobs.add_argument("--mine", action="store_true", help="only the jobs I submitted")
    logs = sub.add_parser("logs", help="a job's output (its id or first characters)")
    logs.add_argument("job")
    logs.add_argument("--follow", "-f", action="store_true",
                      help="keep streaming it into the cell until the job ends")
    cancel = sub.add_parser("cancel", help="stop a job")
    cancel.add_argument("job")
    return p


def _job_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cpus", type=float, help="CPUs to reserve (default 1)")
    p.add_argument("--gpus", type=float, help="GPUs to reserve (default 0)")
    p.add_argument("--memory", help="memory to reserve, e.g. 4GiB")
    p.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE",
                   help="environment variables for the job")
    p.add_argument("--requirements", "-r", nargs="*", default=[], metavar="PKG",
                   help="pip requirements installed for the job")
    p.add_argument("--experiment", "-e", help="experiment of the job's run")
    p.add_argument("--name", help="the job's name")


def _request_id(raw: str) -> int:
    try:
        return int(raw.lstrip("#"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a request id is a number such as 12, got {raw!r}") from None


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--experiment", "-e", help="experiment (default: $MLP_EXPERIMENT or Default)")
    p.add_argument("--name", "-n", help="run name (default: run-N)")
    p.add_argument("--tags", "-t", nargs="*", default=[], metavar="KEY=VALUE")
    p.add_argument("--nested", action="store_true", help="start as a child of the active run")
    p.add_argument("--no-chart", dest="chart", action="store_false",
                   help="do not show the live metric chart under the cell")


@magics_class
class MLPMagics(Magics):
    """``%mlp COMMAND`` and ``%%mlp track``; ``%mlp --help`` lists the commands."""

    @line_cell_magic
    def mlp(self, line: str, cell: str | None = None) -> Any:
        try:
            argv = shlex.split(line)
        except ValueError as e:
            print(f"%mlp: {e} (check the quotes)", file=sys.stderr)
            return None
        self._script_args: list[str] = []
        if argv[:1] == ["submit"] and "--" in argv:  # what follows -- is the script's
            cut = argv.index("--")
            argv, self._script_args = argv[:cut], argv[cut + 1:]
        parser = _parser()
        try:
            args = parser.parse_args(argv)
            if args.command is None:
                parser.print_help()
                return None
            if (cell is None) == (args.command in ("track", "job")):
                hint = (f"%%mlp {args.command} goes on the first line of a cell"
                        if cell is None else
                        f"%%mlp {args.command} is a line magic: use %mlp {args.command}")
                raise InvalidInput(hint, field="command")
            return getattr(self, f"_{args.command}")(args, cell)
        except _Usage:
            return None
        except MLPError as e:
            print(f"mlp: {e}", file=sys.stderr)
            return None

    def _status(self, args, cell) -> None:
        info = _api.status()
        for key in ("transport", "store", "artifact_root", "schema", "version", "error",
                    "spooled"):
            if key in info:
                print(f"{key:14} {info[key]}")
        run = _api.active_run()
        print(f"{'active run':14} {run.ref if run else '-'}")
        if info.get("transport") == "http" and "error" not in info:
            from . import _jobs

            try:
                cluster = _jobs.cluster()
            except MLPError as e:
                print(f"{'cluster':14} unavailable: {e}")
                return
            print(f"{'cluster':14} {cluster.summary()}")
            for n in cluster.get("nodes") or []:
                gpus = f", {n['gpus']:g} GPUs" if n["gpus"] else ""
                print(f"{'':14} {n['host']}{' (head)' if n['head'] else ''}: "
                      f"{n['cpus']:g} CPUs{gpus}, {_jobs.js.human_bytes(n['memory'])}")

    def _run(self, args, cell) -> Any:
        if args.action == "start":
            run = _api.start_run(args.experiment, args.name, nested=args.nested,
                                 tags=_key_values(args.tags, "tag"))
            print(f"mlp: started {run.ref}; end it with %mlp run end")
            if args.chart:
                _show_chart(run)
            return None
        if args.action == "end":
            active = _api.active_run()
            if active is None:
                raise InvalidInput("no active run to end", field="run")
            active.end(args.status)
            print(f"mlp: {active.ref} {args.status}")
            return None
        print("usage: %mlp run start|end [options]  (%mlp run --help)", file=sys.stderr)
        return None

    def _track(self, args, cell) -> None:
        run = _api.start_run(args.experiment, args.name, nested=args.nested,
                             tags=_key_values(args.tags, "tag"))
        if args.chart:
            _show_chart(run)
        assert self.shell is not None
        # A cell of its own (magics, `!`, await and the last value's display work in it),
        # which shows its own traceback; this cell then fails with what it raised.
        result = self.shell.run_cell(cell, store_history=False)
        err = result.error_in_exec or result.error_before_exec
        if err is None:
            status, reason = "finished", None
        elif isinstance(err, KeyboardInterrupt):
            status, reason = "killed", "interrupted"
        else:
            status, reason = "failed", f"{type(err).__name__}: {err}"
        try:
            run.end(status, reason)
        except MLPError as e:
            if err is None:
                raise
            print(f"mlp: {e}", file=sys.stderr)  # the cell's own error comes first
        if err is None:
            print(f"mlp: {run.ref} {status}")
            return
        # (nbclient's error message quotes the cell's output, not the hidden traceback.)
        print(f"mlp: {run.ref} {status}: {reason}", file=sys.stderr)
        failure = (TrackedCellInterrupted(f"{run.ref} killed") if isinstance(err, KeyboardInterrupt)
                   else TrackedCellError(f"{run.ref} failed: {reason}"))
        raise failure.with_traceback(err.__traceback__) from err

    def _log(self, args, cell) -> None:
        pairs = _key_values(args.pairs, "metric" if args.metrics else "param")
        if args.metrics:
            _api.log_metrics(pairs, step=args.step)
        else:
            _api.log_params(pairs)

    def _runs(self, args, cell) -> Any:
        if not args.frame and widgets.available():
            return widgets.runs_table(args.experiment, args.where, args.order_by,
                                      page_size=args.limit)
        return _api.runs(args.experiment, args.where, args.order_by, args.limit)

    def _show(self, args, cell) -> None:
        display(_api.get_run(args.run))

    def _compare(self, args, cell) -> Any:
        refs = (args.baseline, *args.others)
        if widgets.available():
            return widgets.compare(*refs, only_changed=args.only_changed, at=args.at)
        from . import diff  # (the Diff prints its summary where widgets cannot show)

        return diff(*refs, only_changed=args.only_changed, at=args.at)


    # -- the model registry --------------------------------------------------------------

    def _models(self, args, cell) -> Any:
        from . import _registry
        from ._registry_view import ModelsView

        return ModelsView(_registry._reg("list_models", name_like=args.like))

    def _model(self, args, cell) -> Any:
        from . import _registry
        from ._registry_view import ModelView

        return ModelView(_registry.get_model(args.name))

    def _promote(self, args, cell) -> Any:
        from . import _registry
        from ._registry_view import RequestView

        return RequestView(_registry.request_transition(args.name, args.version, args.stage,
                                                        comment=args.comment))

    def _approve(self, args, cell) -> Any:
        from . import _registry
        from ._registry_view import RequestView

        return RequestView(_registry.approve(args.request, comment=args.comment))

    def _reject(self, args, cell) -> Any:
        from . import _registry
        from ._registry_view import RequestView

        return RequestView(_registry.reject(args.request, comment=args.comment))

    def _requests(self, args, cell) -> Any:
        from . import _registry
        from ._registry_view import RequestsView

        return RequestsView(_registry.transition_requests(args.name,
                                                          None if args.all else
                                                          ("pending", "approved")))


    # -- the feature store ----------------------------------------------------------------

    def _features(self, args, cell) -> Any:
        from . import features as fs
        from .features._view import ViewDetail, ViewsList

        if args.view is None:
            return ViewsList(fs._fs("list_views"))
        view = fs.get_view(args.view, args.version)
        errors, stats, sample = [], None, None
        try:
            stats = fs.stats(args.view)
        except MLPError as e:  # the source may be unreadable here; the definition still shows
            errors.append(f"statistics: {e}")
        if args.sample:
            try:
                sample = fs.sample(args.view, args.sample)
            except MLPError as e:
                errors.append(f"sample: {e}")
        fresh = fs._fs("freshness", name=args.view)
        return ViewDetail(view, stats, fresh[0] if fresh else None, sample, errors)

    def _materialize(self, args, cell) -> None:
        from . import features as fs
        from .features._view import _human

        if args.incremental:
            if args.start:
                raise InvalidInput("--incremental starts where the last materialization "
                                   "ended: leave --start out", field="start")
            rec = fs.materialize_incremental(args.view, args.end)
        else:
            rec = fs.materialize(args.view, args.start, args.end)
        took = (rec["finished_at"] or 0) - rec["started_at"]
        newest = rec["newest_event_time"]
        age = None if newest is None else max(0.0, rec["finished_at"] - newest)
        print(f"mlp: materialized {rec['view']} v{rec['version']}: {rec['keys']:,} keys, "
              f"{rec['written']:,} newer values online, in {took:.1f} s; newest event "
              f"{_human(age)} old")


    # -- jobs on Ray ------------------------------------------------------------------------

    def _job_kwargs(self, args) -> dict:
        return {"cpus": args.cpus, "gpus": args.gpus, "memory": args.memory,
                "env": _key_values(args.env, "env") if args.env else None,
                "requirements": args.requirements or None, "experiment": args.experiment,
                "name": args.name}

    def _submit(self, args, cell) -> Any:
        from . import _jobs

        job = _jobs.submit(args.script, self._script_args, **self._job_kwargs(args))
        return self._show_job(job, args.follow)

    def _job(self, args, cell) -> Any:
        from . import _jobs

        assert self.shell is not None
        inputs = [n.strip() for n in args.inputs.split(",") if n.strip()]
        job = _jobs.submit_cell(cell, self.shell.user_ns, inputs, shell=self.shell,
                                **self._job_kwargs(args))
        return self._show_job(job, args.follow)

    def _show_job(self, job: Any, follow: bool) -> Any:
        """The job, as the cell's result (so ``_`` is it); its output streams in above."""
        if follow:
            job.logs(follow=True)
        return job

    def _jobs(self, args, cell) -> Any:
        from . import _jobs

        return _jobs.JobsView(_jobs.get_client().transport.jobs(
            "list", status=args.status, limit=args.limit, mine=args.mine or None))

    def _logs(self, args, cell) -> Any:
        from . import _jobs

        job = _jobs.get_job(args.job)
        if args.follow:
            job.logs(follow=True)
            return None
        print(job.logs(), end="")
        if job.done:
            msg = f": {job.message}" if job.message else ""
            print(f"[job {job.id[:8]} {job.status}{msg}]")
        return None

    def _cancel(self, args, cell) -> None:
        from . import _jobs

        job = _jobs.get_job(args.job).cancel()
        print(f"mlp: job {job.id[:8]} {job.status}" +
              (f": {job.message}" if job.message else ""))


def _show_chart(run: Any) -> None:
    """The run's live chart under the cell, in a kernel that can show widgets. It updates
    while the cell runs and shows the final curve once the run has ended."""
    if not widgets.available():
        return
    try:
        display(widgets.live_chart(run))
    except Exception as e:  # a chart must never keep a run from running
        print(f"mlp: no live chart ({type(e).__name__}: {e})", file=sys.stderr)


def load_ipython_extension(ipython) -> None:
    ipython.register_magics(MLPMagics)

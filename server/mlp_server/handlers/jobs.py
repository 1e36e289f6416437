"""REST routes of jobs on Ray: submit, list, follow, cancel; the cluster's state."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from mlp.errors import InvalidInput

from .base import MLPHandler

JOB = r"(?P<job_id>[0-9a-f]{32})"
SUBMIT_FIELDS = ("entrypoint", "package", "kind", "name", "args", "cpus", "gpus", "memory",
                 "env", "requirements", "experiment", "request_id", "inputs")


class JobsBase(MLPHandler):
    @property
    def jobs(self):
        return self.settings["mlp_jobs"]

    @property
    def shared(self) -> bool:
        return bool(self.settings.get("mlp_shared"))


class JobsHandler(JobsBase):
    @web.authenticated
    @authorized
    async def get(self):
        limit = self.get_query_argument("limit", "100")
        try:
            n = int(limit)
        except ValueError:
            raise InvalidInput(f"limit must be a whole number, got {limit!r}",
                               field="limit") from None
        mine = self.get_query_argument("mine", "false") == "true"
        self.reply({"jobs": await self.call(
            self.jobs.list, limit=n, status=self.get_query_argument("status", None),
            user=self.identity if mine else None)})

    @web.authenticated
    @authorized
    async def post(self):
        b = self.body()
        unknown = sorted(set(b) - set(SUBMIT_FIELDS))
        if unknown:
            raise InvalidInput(f"unknown field(s) {', '.join(unknown)}; a job takes "
                               f"{', '.join(SUBMIT_FIELDS)}", field=unknown[0])
        if "entrypoint" not in b:
            raise InvalidInput("the request body needs 'entrypoint' (the script to run)",
                               field="entrypoint")
        job = await self.call(self.jobs.submit, user=self.identity, **b)
        self.reply(job, 201)


class PackagesHandler(JobsBase):
    @web.authenticated
    @authorized
    async def put(self):
        self.reply(await self.call(self.jobs.put_package, self.request.body), 201)


class ResolveJobHandler(JobsBase):
    @web.authenticated
    @authorized
    async def get(self):
        ref = self.get_query_argument("ref", "")
        self.reply({"job_id": await self.call(self.jobs.resolve, ref)})


class JobHandler(JobsBase):
    @web.authenticated
    @authorized
    async def get(self, job_id: str):
        self.reply(await self.call(self.jobs.get, job_id))


class JobLogsHandler(JobsBase):
    @web.authenticated
    @authorized
    async def get(self, job_id: str):
        raw = self.get_query_argument("offset", "0")
        try:
            offset = int(raw)
        except ValueError:
            raise InvalidInput(f"offset must be a whole number of bytes, got {raw!r}",
                               field="offset") from None
        self.reply(await self.call(self.jobs.logs, job_id, offset))


class JobCancelHandler(JobsBase):
    @web.authenticated
    @authorized
    async def post(self, job_id: str):
        self.reply(await self.call(self.jobs.cancel, job_id, self.identity,
                                   owner_only=self.shared))


class ClusterHandler(JobsBase):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply(await self.call(self.jobs.cluster_status))


ROUTES = [
    ("jobs", JobsHandler, {"get": "Jobs, newest first (?status=&limit=&mine=true)",
                           "post": "Submit a job (idempotent with request_id): a tracked run, "
                                   "a run-scoped token, preflight against the cluster"}),
    ("jobs/packages", PackagesHandler, {"put": "Upload a job's zipped folder; returns its "
                                               "digest"}),
    ("jobs/resolve", ResolveJobHandler, {"get": "A job id from a prefix (?ref=)"}),
    (f"jobs/{JOB}", JobHandler, {"get": "A job, brought up to date with the cluster"}),
    (f"jobs/{JOB}/logs", JobLogsHandler, {"get": "The job's output from a byte offset "
                                                 "(?offset=)"}),
    (f"jobs/{JOB}/cancel", JobCancelHandler, {"post": "Stop a job"}),
    ("cluster", ClusterHandler, {"get": "The Ray cluster: nodes, CPUs, GPUs, memory, in use"}),
]

"""The Ray Serve deployments of a served cascade (imports ray: load through ``build_app``).

- :class:`CascadeIngress` (the saver deployment, HTTP ingress): decodes
  requests, gathers the images of concurrent requests (``@serve.batch``,
  counted in images), runs the test pipeline, the saver and its exit
  rule/evaluator on them, and sends only the images that do not exit on to
  the next stage (one call per image, so the next stage batches images);
- :class:`StageDeployment` (one per later stage: ``mid0``..., ``base``):
  ``@serve.batch`` gathers the images of many requests into one stage call;
- :class:`StatsDeployment` (one replica): counts, latencies, batch sizes and
  the drift test, for ``GET /stats``.
"""
import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional

from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse

from .decode import RequestLimits
from .errors import RequestError
from .frontend import CascadeFrontend, StageUnavailable
from .serving_stats import ServingStats
from .stage_worker import StageWorker, join_rows

__all__ = ['CascadeIngress', 'StageDeployment', 'StatsDeployment']

logger = logging.getLogger('ray.serve')


def _build(build: dict):
    from tinysaver_mm.apis import init_cascade
    return init_cascade(**build)


def _drift_test(drift: dict):
    """The sequential drift test of a calibration (None without one)."""
    if not drift.get('calibration'):
        return None
    from tinysaver_mm.core.cusum import ExitCUSUM
    with open(drift['calibration']) as f:
        reference = json.load(f).get('drift')
    if reference is None:
        raise ValueError(f'calibration={drift["calibration"]!r} has no "drift" reference; '
                         'write it with tools/calibrate.py.')
    return ExitCUSUM(reference['exit_ratio'], drift['shift'], drift['false_alarms_per_10k'])


@serve.deployment(name='stats', num_replicas=1, ray_actor_options=dict(num_cpus=0))
class StatsDeployment:
    """Counters of the whole application (a single replica)."""

    def __init__(self, stages: List[str], drift: dict):
        self.stats = ServingStats(stages, _drift_test(drift))

    def record_request(self, answered_by: List[str], timing: dict) -> None:
        self.stats.record_request(answered_by, timing)

    def record_refusal(self, status: int, kind: str) -> None:
        self.stats.record_refusal(status, kind)

    def record_batch(self, role: str, size: int, ms: float) -> None:
        self.stats.record_batch(role, size, ms)

    def snapshot(self) -> dict:
        return self.stats.snapshot()


@serve.deployment
class StageDeployment:
    """A later stage: the images of many requests, batched into one call."""

    def __init__(self, role: str, build: dict, max_batch_size: int,
                 batch_wait_timeout_s: float, stats):
        self.worker = StageWorker(_build(build), role)
        self.role, self.stats = role, stats
        self.run.set_max_batch_size(max_batch_size)
        self.run.set_batch_wait_timeout_s(batch_wait_timeout_s)

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.005)
    async def run(self, rows: List[tuple]) -> List[Any]:
        """One image (input, data sample) per call; batched across requests."""
        outputs, ms = await asyncio.get_running_loop().run_in_executor(
            None, self.worker.run, rows)
        self.stats.record_batch.remote(self.role, len(rows), ms)
        return outputs


def _runner(handle, role: str, timeout_s: float):
    """A :meth:`run_stages_elsewhere` runner: one call per image to ``handle``."""
    def run(_, rows, samples):
        calls = [handle.run.remote((rows[i], None if samples is None else samples[i]))
                 for i in range(len(rows))]
        try:
            return join_rows([c.result(timeout_s=timeout_s) for c in calls])
        except Exception as err:  # replica died, timed out, over its queue limit
            for c in calls:
                c.cancel()
            raise StageUnavailable(f'The {role} stage did not answer ({type(err).__name__}: '
                                   f'{str(err)[:300]}); the request was not answered. Retry '
                                   'later.') from None
    return run


@serve.deployment
class CascadeIngress:
    """The saver deployment and HTTP ingress.

    HTTP: ``POST /`` (or ``/predict``) with PNG/JPEG bytes or JSON
    ``{"images": [base64, ...]}``; ``GET /stats``; ``GET /`` (what is served).
    Python: ``handle.predict.remote([png_bytes, ...])``.
    """

    def __init__(self, build: dict, limits: dict, later: Dict[str, Any], stats,
                 stage_timeout_s: float, drift: dict, batch: dict, threads: int = 16):
        cascade = _build(build)
        if drift.get('calibration'):
            from tinysaver_mm.engine.hooks import TinySaverDriftHook
            TinySaverDriftHook(drift['calibration']).check_cascade(cascade)
        runners = {role: _runner(h, role, stage_timeout_s) for role, h in later.items()}
        self.frontend = CascadeFrontend(cascade, RequestLimits(**limits), runners)
        self.stats = stats
        self.pool = ThreadPoolExecutor(max_workers=int(threads))
        self._predict.set_max_batch_size(int(batch['max_batch_size']))
        self._predict.set_batch_wait_timeout_s(float(batch['batch_wait_timeout_s']))

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.002, max_concurrent_batches=4,
                 batch_size_fn=lambda requests: sum(len(images) for images in requests))
    async def _predict(self, requests: List[list]) -> List[tuple]:
        """The decoded images of many requests, routed in one cascade call."""
        return await asyncio.get_running_loop().run_in_executor(
            self.pool, self.frontend.predict_many, requests)

    async def _answer(self, body: bytes, content_type: Optional[str]) -> tuple:
        loop = asyncio.get_running_loop()
        try:
            images = await loop.run_in_executor(self.pool, self.frontend.decode_body, body,
                                                content_type)
        except RequestError as err:
            status, payload = err.status, err.payload()
        else:
            status, payload = await self._predict(images)
        if status == 200:
            self.stats.record_request.remote([r['answered_by'] for r in payload['results']],
                                             payload['timing_ms'])
        else:
            self.stats.record_refusal.remote(status, payload.get('error', 'error'))
        return status, payload

    async def predict(self, images: List[bytes]) -> dict:
        """Python API: PNG/JPEG bytes of each image -> the JSON payload (with ``status``)."""
        import base64
        if isinstance(images, (bytes, bytearray)):
            images = [bytes(images)]
        body = json.dumps(dict(images=[base64.b64encode(i).decode() for i in images])).encode()
        status, payload = await self._answer(body, 'application/json')
        return dict(payload, status=status)

    async def stats_snapshot(self) -> dict:
        return await self.stats.snapshot.remote()

    async def __call__(self, request: Request) -> JSONResponse:
        path = request.url.path.rstrip('/') or '/'
        if request.method == 'GET':
            if path.endswith('/stats'):
                return JSONResponse(await self.stats.snapshot.remote())
            return JSONResponse(self.frontend.info())
        if request.method != 'POST':
            err = RequestError(405, f'{request.method} is not served; POST images, GET /stats.',
                               'method_not_allowed')
            return JSONResponse(err.payload(), status_code=405)
        length = request.headers.get('content-length')
        limit = self.frontend.limits.max_body_bytes
        if length is not None and length.isdigit() and int(length) > limit:
            err = RequestError(413, f'Content-Length {length} is more than max_body_bytes='
                               f'{limit}; send fewer or smaller images.', 'body_too_large')
            self.stats.record_refusal.remote(413, err.kind)
            return JSONResponse(err.payload(), status_code=413)
        body = await request.body()
        status, payload = await self._answer(body, request.headers.get('content-type'))
        return JSONResponse(payload, status_code=status)

"""The saver side of a served cascade, without Ray: bytes in, JSON answers out.

One :class:`CascadeFrontend` per saver replica: it decodes a request's
images, runs the config's test pipeline and the cascade's own ``predict``
(the saver, its exit rule or evaluator, :meth:`BaseCascade.route`'s routing
and the task's packing: no second copy of any of them), with the later stages
run wherever :meth:`BaseCascade.run_stages_elsewhere` says (the other
deployments, when served), and writes each image's answer as JSON.
"""
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch

from .answers import answer_of, cascade_task
from .decode import RequestLimits, split_body
from .errors import RequestError
from .read_write_lock import ReadWriteLock
from .request_pipeline import RequestPipeline

__all__ = ['CascadeFrontend', 'StageUnavailable']


class StageUnavailable(RuntimeError):
    """A later stage did not answer (its replica died, timed out or refused)."""


class CascadeFrontend:
    """Answer requests with a cascade whose later stages may run elsewhere.

    Args:
        cascade (nn.Module): From :func:`tinysaver_mm.apis.init_cascade`
            (eval mode, ``cascade.cfg`` set).
        limits (RequestLimits, optional): Request limits.
        runners (dict, optional): Stage name -> ``runner(role, rows,
            samples)`` (see :meth:`BaseCascade.run_stages_elsewhere`).

    Raises:
        ValueError: For a cascade that is not served (see
            :func:`~tinysaver_mm.serving.answers.cascade_task`).
    """

    def __init__(self, cascade, limits: Optional[RequestLimits] = None,
                 runners: Optional[Dict[str, Callable]] = None):
        self.task = cascade_task(cascade)
        self.cascade = cascade
        self.pipeline = RequestPipeline(cascade.cfg, cascade, limits)
        self.limits = self.pipeline.limits
        meta = cascade.__dict__.get('_dataset_meta') or {}
        self.classes = meta.get('classes')
        self._local = threading.local()  # requests run in threads: timings per thread
        self._lock, self._measured = ReadWriteLock(), set()
        if runners:
            cascade.run_stages_elsewhere({r: self._timed(f) for r, f in runners.items()})

    def _timed(self, runner: Callable) -> Callable:
        def run(role, rows, samples):
            t = time.perf_counter()
            try:
                return runner(role, rows, samples)
            finally:
                self._local.ms = getattr(self._local, 'ms', 0.0) + \
                    (time.perf_counter() - t) * 1e3
        return run

    def info(self) -> dict:
        """What is served: task, stages, thresholds, exit rule, backend, limits."""
        c = self.cascade
        thr = c.threshold
        return dict(task=self.task, model=type(c).__name__, stages=list(c.route_names),
                    thresholds=thr if isinstance(thr, list) else [thr], exit_rule=c.exit_rule,
                    backend=getattr(c, 'backend', 'pytorch'), classes=self.classes,
                    max_pixels=self.limits.max_pixels, max_images=self.limits.max_images,
                    max_body_bytes=self.limits.max_body_bytes,
                    accepts=['image/png', 'image/jpeg', 'application/json {"images": [base64]}'])

    def decode_body(self, body: bytes, content_type: Optional[str]) -> List:
        """Split and decode a body's images (raises :class:`RequestError`)."""
        parts = split_body(body, content_type, self.limits)
        where = (lambda i: 'The image') if len(parts) == 1 else (lambda i: f'images[{i}]')
        return [self.pipeline.decode(p, where(i)) for i, p in enumerate(parts)]

    def predict(self, images: List) -> Tuple[List[dict], dict]:
        """Answer decoded images with the routed cascade.

        Returns:
            tuple: One JSON answer per image, and timings in ms
            (``front``: all but the later stages; ``later``: waiting for them).

        Raises:
            StageUnavailable: If a later stage's runner failed.
        """
        t0 = time.perf_counter()
        self._local.ms = 0.0
        data = self.pipeline.batch(images)
        inputs, samples = data['inputs'], data['data_samples']
        keys = {self.cascade.macs_key(img) for img in inputs}
        if not keys <= self._measured:  # MACs of a new shape: a traced forward, alone
            with self._lock.exclusive(), torch.no_grad():
                self.cascade.image_macs(inputs, samples)
                self._measured |= keys
        with self._lock.shared(), torch.no_grad():
            samples = self.cascade.predict(inputs, samples)
        answers = [answer_of(s, self.task, self.classes) for s in samples]
        total = (time.perf_counter() - t0) * 1e3
        later = self._local.ms
        return answers, dict(total=total, later=later, front=total - later)

    def predict_many(self, requests: List[List]) -> List[Tuple[int, dict]]:
        """Answer several requests' decoded images in one cascade call (saver batching).

        An image's routing and answer do not depend on its batch-mates; the
        timings are the shared call's.

        Returns:
            list[tuple]: ``(status, payload)`` per request, in order: 200 with
            its results, or 503 for all when a later stage did not answer.
        """
        flat = [img for images in requests for img in images]
        try:
            answers, timing = self.predict(flat)
        except StageUnavailable as err:
            payload = dict(error='stage_unavailable', status=503, message=str(err))
            return [(503, payload) for _ in requests]
        out, start = [], 0
        for images in requests:
            out.append((200, dict(results=answers[start:start + len(images)],
                                  timing_ms=dict(timing, images_in_call=len(flat)))))
            start += len(images)
        return out

    def handle(self, body: bytes, content_type: Optional[str]) -> Tuple[int, dict]:
        """One request, start to end: status and JSON payload (never raises for bad input).

        Returns:
            tuple: ``(200, {"results": [...], "timing_ms": ...})`` or
            ``(4xx/5xx, {"error": ..., "message": ...})``.
        """
        try:
            images = self.decode_body(body, content_type)
            answers, timing = self.predict(images)
        except RequestError as err:
            return err.status, err.payload()
        except StageUnavailable as err:
            return 503, dict(error='stage_unavailable', status=503, message=str(err))
        return 200, dict(results=answers, timing_ms=timing)

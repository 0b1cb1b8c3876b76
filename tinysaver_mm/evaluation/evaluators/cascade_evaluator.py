"""An mmengine Evaluator over a cascade's metrics that takes a host tool's metric keys."""
from typing import Sequence, Union

from mmengine.evaluator import Evaluator
from mmengine.registry import EVALUATOR

__all__ = ['TinySaverEvaluator']


@EVALUATOR.register_module()
class TinySaverEvaluator(Evaluator):
    """mmengine's ``Evaluator`` over the host's metric and ``TinySaverMetric``.

    Host tools expect ``test_evaluator`` to be one metric dict and write keys
    into it: mmseg's ``tools/test.py --out DIR`` sets ``output_dir`` and
    ``keep_results``, which on a list of metrics is a ``TypeError``. A cascade
    config gives ``test_evaluator = dict(type='TinySaverEvaluator',
    metrics=[<the host's metric>, dict(type='TinySaverMetric')])`` instead:
    keys given beside ``metrics`` go to the first metric, the host's, exactly
    as the tool would have set them on it alone (``IoUMetric`` then writes
    each predicted mask as a PNG into ``output_dir``).

    Args:
        metrics (dict | Sequence[dict]): The metrics, the host's first.
        **host_metric_keys: Keys for the first metric (e.g. ``output_dir``).

    Raises:
        ValueError: If keys are given but the first metric is not a config
            dict (nothing to set them on).
    """

    def __init__(self, metrics: Union[dict, Sequence[dict]], **host_metric_keys):
        metrics = [metrics] if isinstance(metrics, dict) else list(metrics)
        if host_metric_keys:
            if not metrics or not isinstance(metrics[0], dict):
                raise ValueError(
                    f'TinySaverEvaluator got {sorted(host_metric_keys)} for its first metric, '
                    f'but that is {metrics[0] if metrics else "missing"!r}: list the host\'s '
                    "metric first, as a config dict (e.g. dict(type='IoUMetric', ...)).")
            metrics[0] = dict(metrics[0], **host_metric_keys)
        super().__init__(metrics)

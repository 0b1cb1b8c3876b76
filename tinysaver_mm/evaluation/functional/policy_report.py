"""Exit policies compared on one set of images: calibrated and at equal drop (any task)."""
from typing import Callable, Dict, List, Mapping, Tuple

import numpy as np

__all__ = ['compare_policies']


def compare_policies(scores: Mapping[str, np.ndarray],
                     curve: Callable[[np.ndarray, bool], List[dict]],
                     at: Callable[[np.ndarray, float, bool], dict], key: str,
                     base_value: float, drop: float, calibrated: Mapping[str, float],
                     calibrator_cls) -> Tuple[List[dict], Dict[str, list], Dict[str, dict]]:
    """Each policy at its calibrated threshold and at the cascade's own drop.

    Args:
        scores (Mapping): Policy name to exit score per image.
        curve (Callable): ``(score, pays_evaluator) -> rows`` of the metric
            curve (one row per exit share).
        at (Callable): ``(score, threshold, pays_evaluator) -> row`` at one
            threshold.
        key (str): The rows' metric (``'map'``, ``'miou'``).
        base_value (float): The base's metric on these images.
        drop (float): The routed cascade's drop here; each policy's
            ``equal_drop_*`` row is the most MACs it saves within it.
        calibrated (Mapping): Policy name to the threshold it was calibrated
            to on other images (policies without one get no ``calibrated_*``).
        calibrator_cls: A :class:`~tinysaver_mm.core.MetricDropCalibrator`
            class for ``key`` (chooses the equal-drop row).

    Returns:
        tuple: ``(rows, curves, marks)``: one flat row per policy
        (``policy``, ``calibrated_<field>``, ``calibrated_<key>_drop``,
        ``equal_drop_<field>``), each policy's curve (with its calibrated
        point) and its calibrated point.
    """
    rows, curves, marks = [], {}, {}
    for name, score in scores.items():
        pays = name == 'evaluator'
        row = dict(policy=name)
        points = curve(score, pays)
        if name in calibrated:
            point = at(score, float(calibrated[name]), pays)
            row.update({f'calibrated_{k}': v for k, v in point.items()})
            row[f'calibrated_{key}_drop'] = base_value - point[key]
            points = sorted(points + [point], key=lambda r: r['exit_ratio'])
            marks[name] = point
        curves[name] = points
        best = calibrator_cls(max(drop, 0.0)).fit(points, base_value).row_
        row.update({f'equal_drop_{k}': v for k, v in best.items()})
        rows.append(row)
    return rows, curves, marks

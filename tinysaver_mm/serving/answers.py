"""A routed data sample -> the JSON answer of one image (classification, detection)."""
import math
from typing import Optional, Sequence

__all__ = ['answer_of', 'TASKS', 'cascade_task']

#: cascade type -> served task
TASKS = {'TinySaverClassifier': 'classification', 'TinySaverDetector': 'detection'}


def cascade_task(cascade) -> str:
    """The served task of a cascade.

    Raises:
        ValueError: For a cascade that is not served (segmentation: masks
            would need a compact encoding, not done; the ESN: its routing steps
            pass a state inside the base).
    """
    kind = type(cascade).__name__
    if kind not in TASKS:
        raise ValueError(f'A {kind} is not served: only {sorted(TASKS)} are (segmentation masks '
                         'would need a compact encoding such as COCO RLE, not done; the ESN\'s '
                         'exits live inside its base, so they cannot be split into '
                         'deployments).')
    return TASKS[kind]


def _number(value) -> Optional[float]:
    value = float(value)
    return value if math.isfinite(value) else None  # JSON has no NaN


def answer_of(sample, task: str, classes: Optional[Sequence[str]] = None) -> dict:
    """The JSON answer of one routed data sample.

    Classification: ``label``, ``class`` (its name when the checkpoints name
    the classes), ``score``. Detection: ``boxes`` (x1, y1, x2, y2 in the
    original image's pixels), ``labels``, ``scores``. Both: ``answered_by``,
    ``exited``, ``exit_score`` (``null`` when it is NaN: the saver found
    nothing and the image went on) and ``gmacs`` (what this image cost).

    Args:
        sample: A data sample returned by the cascade's ``predict``.
        task (str): ``'classification'`` or ``'detection'``.
        classes (Sequence[str], optional): Class names.

    Returns:
        dict: JSON-ready.
    """
    out = dict(answered_by=sample.answered_by, exited=bool(sample.exited),
               exit_score=_number(sample.exit_score), gmacs=float(sample.macs) / 1e9)
    if task == 'classification':
        label = int(sample.pred_label.reshape(-1)[0])
        out.update(label=label, score=float(sample.pred_score[label]))
        if classes is not None:
            out['class'] = classes[label]
    else:
        inst = sample.pred_instances
        out.update(boxes=inst.bboxes.detach().cpu().double().tolist(),
                   labels=[int(v) for v in inst.labels.tolist()],
                   scores=[float(v) for v in inst.scores.tolist()])
        if classes is not None:
            out['classes'] = [classes[i] for i in out['labels']]
    return out

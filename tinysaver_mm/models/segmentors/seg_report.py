"""Analysis mode of a segmentation cascade: both models' masks and every policy's score."""
from typing import Dict, List

import torch

from tinysaver_mm.core import take_rows

__all__ = ['confidence_rules_of', 'rule_scores', 'attach_seg_report']


def confidence_rules_of(cascade) -> List[str]:
    """The cascade's exit rules computed from the saver's masks alone."""
    return [r for r in cascade.exit_rules if r != 'evaluator']


def rule_scores(cascade, outputs: list, samples: list) -> Dict[str, torch.Tensor]:
    """Every confidence rule's exit score of the saver, as the cascade routes with it.

    Args:
        cascade (TinySaverSegmentor): Its ``exit_scores`` is called once per
            rule (its ``exit_rule`` is restored afterwards).
        outputs (list[SegDataSample]): The saver's predictions.
        samples (list): Their data samples.

    Returns:
        dict[str, torch.Tensor]: Rule name to (N,) scores.
    """
    keep = cascade.exit_rule
    out = {}
    try:
        for rule in confidence_rules_of(cascade):
            cascade.exit_rule = rule
            out[rule] = cascade.exit_scores('saver', outputs, samples).double().cpu()
    finally:
        cascade.exit_rule = keep
    return out


def attach_seg_report(cascade, inputs, samples: list, first: list, outputs: list,
                      answered_by: torch.Tensor) -> None:
    """Analysis mode: saver and base masks on every image, every policy's score.

    The base runs on the images it did not answer; each sample gets
    ``saver_sem_seg`` and ``base_sem_seg`` (PixelData) and, in its metainfo,
    ``policy_scores`` (every confidence rule, and the evaluator's),
    ``exit_rule``, ``threshold`` and ``num_classes``.

    Args:
        cascade (TinySaverSegmentor): The cascade that routed the batch.
        inputs: The raw images (a stacked tensor or a list).
        samples (list): Their data samples (written to).
        first (list[SegDataSample]): The saver's outputs on every image.
        outputs (list[SegDataSample]): The routed outputs.
        answered_by (torch.Tensor): Stage index per image.
    """
    last = len(cascade.stage_names) - 1
    base = {i: outputs[i] for i in range(len(samples)) if int(answered_by[i]) == last}
    rest = [i for i in range(len(samples)) if i not in base]
    if rest:
        rows = torch.tensor(rest)
        more = cascade.run_stage('base', take_rows(inputs, rows), take_rows(samples, rows))
        base.update(dict(zip(rest, more)))
    policy = rule_scores(cascade, first, samples)
    if getattr(cascade, 'evaluator', None) is not None:
        policy['evaluator'] = cascade.evaluator_scores(first).double().cpu()
    for i, ds in enumerate(samples):
        ds.saver_sem_seg = first[i].pred_sem_seg
        ds.base_sem_seg = base[i].pred_sem_seg
        ds.set_metainfo(dict(policy_scores={k: float(v[i]) for k, v in policy.items()},
                             exit_rule=cascade.exit_rule, threshold=cascade.threshold,
                             num_classes=int(cascade.num_classes)))

"""Analysis mode of a detection cascade: both detectors' results and every policy's score."""
from typing import List

import torch

from tinysaver_mm.core import DET_EXIT_RULES, det_confidence

__all__ = ['attach_report']


def attach_report(cascade, inputs: list, samples: list, first: List[tuple],
                  outputs: List[tuple], answered_by: torch.Tensor) -> None:
    """Analysis mode: saver and base results on every image, every policy's score.

    The base runs on the images it did not answer; each sample gets
    ``saver_instances``, ``base_instances``, ``policy_scores`` (every simple
    rule, and the evaluator's), ``exit_rule`` and ``threshold``.

    Args:
        cascade (TinySaverDetector): The cascade that routed the batch.
        inputs (list): Raw images.
        samples (list): Their data samples (written to).
        first (list[tuple]): The saver's outputs on every image.
        outputs (list[tuple]): The routed outputs.
        answered_by (torch.Tensor): Stage index per image.
    """
    last = len(cascade.stage_names) - 1
    base = {i: outputs[i][0] for i in range(len(inputs)) if answered_by[i] == last}
    rest = [i for i in range(len(inputs)) if i not in base]
    if rest:
        more = cascade.run_stage('base', [inputs[i] for i in rest], [samples[i] for i in rest])
        base.update({i: o[0] for i, o in zip(rest, more)})
    saver = [o[0] for o in first]
    policy = {rule: det_confidence([p.scores for p in saver], rule, cascade.topk)
              for rule in DET_EXIT_RULES}
    if cascade.evaluator is not None:
        policy['evaluator'] = cascade.evaluator_scores(saver, samples, [o[1] for o in first])
    for i, ds in enumerate(samples):
        ds.set_metainfo(dict(
            saver_instances=saver[i], base_instances=base[i],
            policy_scores={k: float(v[i]) for k, v in policy.items()},
            exit_rule=cascade.exit_rule, threshold=cascade.threshold))

"""A later stage of a served cascade, without Ray: rows of many requests in, one call.

A later stage's deployment gets single images (rows) from the saver
replicas, each with its data sample; ``@serve.batch`` gathers the rows of
many requests and :meth:`StageWorker.run` runs the stage once on all of them
(the cascade's own :meth:`run_stage`, as :meth:`BaseCascade.route` calls it),
then splits the outputs back, one per row. A row's output does not depend on
its batch-mates: stages run in eval mode, image by image.
"""
import time
from typing import Any, List, Optional, Sequence, Tuple

import torch

__all__ = ['StageWorker', 'join_rows', 'split_rows']


def split_rows(outputs: Any) -> List[Any]:
    """A stage's outputs for n rows -> a list of n per-row outputs."""
    if isinstance(outputs, torch.Tensor):
        return list(outputs.unbind(0))
    return list(outputs)


def join_rows(rows: Sequence[Any]) -> Any:
    """Per-row outputs -> a stage's outputs (stacked when they are tensors)."""
    if rows and all(isinstance(r, torch.Tensor) for r in rows):
        return torch.stack(list(rows))
    return list(rows)


class StageWorker:
    """Run one stage of a cascade on rows gathered from many requests.

    Args:
        cascade (nn.Module): The cascade (from ``init_cascade``), in eval mode.
        role (str): The stage this worker runs (a later routing step).

    Raises:
        ValueError: If ``role`` is not a later routing step of the cascade.
    """

    def __init__(self, cascade, role: str):
        if role not in cascade.route_names[1:]:
            raise ValueError(f'role={role!r} is not a later stage of this cascade; choose one of '
                             f'{list(cascade.route_names[1:])}.')
        self.cascade, self.role = cascade, role

    @torch.no_grad()
    def run(self, rows: Sequence[Tuple[Any, Optional[Any]]]) -> Tuple[List[Any], float]:
        """Run the stage once on ``(input, data sample or None)`` rows.

        Returns:
            tuple: One output per row, in order, and the call's time in ms.
        """
        t = time.perf_counter()
        inputs = [r[0] for r in rows]
        samples = [r[1] for r in rows]
        samples = None if all(s is None for s in samples) else samples
        outputs = self.cascade.run_stage(self.role, inputs, samples)
        out = split_rows(outputs)
        if len(out) != len(rows):
            raise ValueError(f'The {self.role} gave {len(out)} outputs for {len(rows)} rows.')
        return out, (time.perf_counter() - t) * 1e3

"""Split a batch into the samples that exit and the ones passed on."""
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch

__all__ = ['check_threshold', 'take_rows', 'shape_groups', 'join_rows', 'route_batch']


def check_threshold(threshold: float, name: str = 'threshold', allow_off: bool = False) -> float:
    """Validate an exit threshold.

    Args:
        threshold (float): The value to check.
        name (str): How to call it in the error message.
        allow_off (bool): Whether a value above 1 is accepted, turning that
            exit off (no confidence in [0, 1] reaches it). Defaults to False.

    Returns:
        float: ``threshold`` as a float.

    Raises:
        ValueError: If it is not a number in [0, 1] (or above 1 with
            ``allow_off``).
    """
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a number in [0, 1], got '
                         f'{threshold!r}.') from None
    if allow_off and value > 1.0:
        return value
    if not 0.0 <= value <= 1.0:
        raise ValueError(
            f'{name}={threshold!r} is outside [0, 1]: confidences are in '
            '[0, 1], so use e.g. 0.9 (0 lets every sample exit at the saver, '
            '1 sends all but fully sure samples on).')
    return value


def take_rows(batch: Any, index: Optional[torch.Tensor]) -> Any:
    """Rows ``index`` of a batch: a stacked tensor, a list/tuple of per-row items,
    or a dict of those (e.g. a stage's state: several tensors, each with rows
    along dim 0).

    Args:
        batch: A tensor (rows along dim 0), a list/tuple with one item per
            row, a dict whose values are such batches, or ``None`` (returned
            as is).
        index (torch.Tensor, optional): Row positions (LongTensor); ``None``
            for every row (the batch itself is returned, no copy).

    Returns:
        The selected rows, of the batch's own kind.

    Raises:
        TypeError: If ``batch`` is neither a tensor, a list/tuple nor a dict.
    """
    if batch is None or index is None:
        return batch
    if isinstance(batch, dict):
        return {k: take_rows(v, index) for k, v in batch.items()}
    if isinstance(batch, torch.Tensor):
        return batch.index_select(0, index.to(batch.device))
    if isinstance(batch, (list, tuple)):
        return [batch[i] for i in index.tolist()]
    raise TypeError(f'Cannot take rows of a {type(batch).__name__}: a stage\'s outputs '
                    'and state must be a tensor (rows along dim 0), a list of rows or a dict of '
                    'those.')


def shape_groups(inputs: Any) -> List[torch.Tensor]:
    """Rows of a raw batch grouped by image shape, in order of first appearance.

    A host preprocessor pads the images of one batch to a common size, so an
    image's outputs (and its exit score) would depend on its batch-mates'
    sizes; running each group alone gives every image the padding it gets
    on its own.

    Args:
        inputs: A stacked tensor (one group) or a list/tuple of images.

    Returns:
        list[torch.Tensor]: Row positions (LongTensor) of each group; one
        group holding every row when all images share a shape.
    """
    if isinstance(inputs, torch.Tensor):
        return [torch.arange(len(inputs))]
    groups: Dict[Tuple[int, ...], List[int]] = {}
    for i, img in enumerate(inputs):
        groups.setdefault(tuple(img.shape), []).append(i)
    return [torch.tensor(rows, dtype=torch.long) for rows in groups.values()]


def join_rows(parts: Sequence[Any], groups: Sequence[torch.Tensor], batch_size: int) -> Any:
    """Put per-group batches back in batch order (the inverse of :func:`take_rows`
    over a partition of the rows).

    Args:
        parts (Sequence): One batch per group (tensors with rows along dim 0,
            lists with one item per row, dicts of those, or ``None``).
        groups (Sequence[torch.Tensor]): The rows of each group (a partition
            of ``range(batch_size)``).
        batch_size (int): Rows in the whole batch.

    Returns:
        The joined batch, of the parts' kind (``None`` if every part is).

    Raises:
        ValueError: If the parts are of different kinds or a part's row
            count differs from its group's.
    """
    if all(p is None for p in parts):
        return None
    if all(isinstance(p, dict) for p in parts):
        return {k: join_rows([p[k] for p in parts], groups, batch_size) for k in parts[0]}
    for part, rows in zip(parts, groups):
        if part is None or isinstance(part, dict) or len(part) != len(rows):
            raise ValueError(f'A group of {len(rows)} rows gave '
                             f'{"no" if part is None else len(part)} outputs.')
    if all(isinstance(p, torch.Tensor) for p in parts):
        first = parts[0]
        out = first.new_empty((batch_size, ) + tuple(first.shape[1:]))
        for part, rows in zip(parts, groups):
            out.index_copy_(0, rows.to(out.device), part.to(out.device, out.dtype))
        return out
    if any(isinstance(p, torch.Tensor) for p in parts):
        raise ValueError('Cannot join groups of different kinds (tensors and lists).')
    out = [None] * batch_size
    for part, rows in zip(parts, groups):
        for pos, item in zip(rows.tolist(), part):
            out[pos] = item
    return out


def _merge(out: Any, rows: torch.Tensor, outputs: Any, name: str, first: str) -> Any:
    """Write the rows ``rows`` of ``out`` from ``outputs`` (new object for tensors)."""
    if isinstance(out, torch.Tensor) and isinstance(outputs, torch.Tensor):
        return out.index_copy(0, rows.to(out.device), outputs.to(out.device))
    if isinstance(out, torch.Tensor) or isinstance(outputs, torch.Tensor):
        raise ValueError(f'The {name} gives {type(outputs).__name__} outputs but the '
                         f'{first} {type(out).__name__}: every stage of a cascade must '
                         'give the same kind of outputs.')
    merged = list(out)
    for pos, item in zip(rows.tolist(), outputs):
        merged[pos] = item
    return merged


def _check_rows(outputs: Any, expected: int, name: str) -> None:
    if len(outputs) != expected:
        raise ValueError(f'The {name} gave {len(outputs)} outputs for {expected} rows; '
                         'a stage must give exactly one output per input row.')


def route_batch(run_stage: Callable[..., Any],
                confidence: Union[Callable[[Any], torch.Tensor],
                                  Sequence[Callable[[Any], torch.Tensor]]],
                thresholds: Sequence[float], batch_size: int,
                names: Optional[Sequence[str]] = None,
                with_state: bool = False) -> Tuple[Any, torch.Tensor, torch.Tensor]:
    """Run a cascade on a batch, each stage on the rows still routed to it.

    Stage ``i`` runs on the rows no earlier stage let exit, as one sub-batch;
    a row whose confidence is at least ``thresholds[i]`` exits there, and the
    last stage answers whatever is left. A row whose confidence is not a
    number (NaN) never exits: it goes on to the next stage. A stage that no
    row reaches does not run. The full batch is passed as ``None`` (no index,
    no copy), which is what the first stage, and a later one that every row
    reaches, get.

    Outputs may be a stacked tensor (rows along dim 0; merged with one
    ``index_copy``) or a list with one item per row (e.g. a detector's
    instances per image). With ``with_state``, each stage also returns a
    per-row state that the next stage receives for the rows passed on to it
    (e.g. features a later stage resumes from).

    Args:
        run_stage (callable): ``(stage, rows) -> outputs`` or, with
            ``with_state``, ``(stage, rows, state) -> (outputs, state)``:
            outputs of stage ``stage`` for the batch rows ``rows`` (a
            LongTensor of positions in the original batch, in increasing
            order, or ``None`` for all), one per row. ``state`` is the
            previous stage's state for exactly those rows (``None`` for the
            first stage).
        confidence (callable | Sequence[callable]): ``outputs -> (len(rows),)``
            confidence; one callable for every stage, or one per stage but
            the last.
        thresholds (Sequence[float]): One exit threshold per stage but the
            last (already validated).
        batch_size (int): Rows in the batch.
        names (Sequence[str], optional): Stage names for error messages.
        with_state (bool): Whether stages take and return a per-row state.

    Returns:
        tuple: Outputs in batch order (a tensor (batch_size, ...) or a list
        of batch_size items), each row from the stage that answered it; the
        index of that stage per row (batch_size,); and the first stage's
        confidence per row (batch_size,).

    Raises:
        ValueError: If a stage's outputs do not have the first stage's row
            shape (e.g. a different number of classes) or kind, or not one
            per row; or if ``confidence`` has the wrong count.
    """
    k = len(thresholds)
    names = list(names or [f'stage {i}' for i in range(k + 1)])
    confs = list(confidence) if isinstance(confidence, (list, tuple)) else [confidence] * k
    if len(confs) < k:
        raise ValueError(f'{len(confs)} confidence functions for {k} exit thresholds.')

    def call(i, rows, state):
        if with_state:
            return run_stage(i, rows, state)
        return run_stage(i, rows), None

    rows = None  # None: every row of the batch, in order
    out, state = call(0, None, None)
    _check_rows(out, batch_size, names[0])
    answered_by = torch.zeros(batch_size, dtype=torch.long)
    first_conf = confs[0](out) if k else torch.ones(batch_size)
    conf = first_conf
    for i in range(1, k + 1):
        passed = (~(conf >= thresholds[i - 1])).nonzero().squeeze(1).cpu()
        if passed.numel() == 0:
            break
        whole = rows is None and passed.numel() == batch_size
        state = take_rows(state, None if whole else passed)
        if not whole:
            rows = passed if rows is None else rows[passed]
        outputs, state = call(i, rows, state)
        _check_rows(outputs, batch_size if rows is None else rows.numel(), names[i])
        if isinstance(outputs, torch.Tensor) and isinstance(out, torch.Tensor) and \
                outputs.shape[1:] != out.shape[1:]:
            raise ValueError(
                f'The {names[i]} gives outputs of shape {tuple(outputs.shape[1:])} '
                f'per image but the {names[0]} {tuple(out.shape[1:])}; use models '
                'with the same label set.')
        if rows is None:
            out, answered_by = outputs, torch.full_like(answered_by, i)
        else:
            out = _merge(out, rows, outputs, names[i], names[0])
            answered_by.index_fill_(0, rows, i)
        if i < k:
            conf = confs[i](outputs)
    return out, answered_by, first_conf

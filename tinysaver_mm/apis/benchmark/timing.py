"""What every benchmark here is made of: timing in alternation, a stage alone, test images."""
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch

__all__ = ['packed', 'stage_alone', 'first_test_batch', 'fuse_stages', 'time_fn', 'time_fns']


def packed(run_probs: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[dict], list]:
    """A raw batch -> ``DataSample`` list, from a function giving class probabilities.

    The packing mmpretrain's head does (``pred_score``, ``pred_label``), so a
    deployed stage and an eager model pay for the same outputs.
    """
    from mmpretrain.structures import DataSample

    def run(data):
        probs = run_probs(data['inputs'])
        return [DataSample().set_pred_score(p).set_pred_label(p.argmax(0, keepdim=True))
                for p in probs]
    return run


def stage_alone(model, role: str) -> Callable[[dict], object]:
    """How one stage of ``model`` answers a raw batch alone, on the cascade's backend.

    PyTorch: the stage's own ``test_step`` (preprocessing + predict), as the
    Runner calls it. A deployed backend: the stage's session (its graph folds
    the preprocessing in) and :func:`packed`'s packing.
    """
    if role not in getattr(model, '_deployed', {}):
        return getattr(model, role).test_step
    return packed(lambda x: model.run_stage(role, x))


def first_test_batch(cfg, n: int, need: Optional[str] = None) -> Tuple[torch.Tensor, list]:
    """The first ``n`` images of a config's test split, raw, and their data samples.

    Args:
        cfg (Config): A config with a ``test_dataloader`` (built in its scope).
        n (int): How many images.
        need (str, optional): What asked for ``n`` (e.g. ``'batch size 256'``):
            then fewer than ``n`` images is refused, naming it.

    Returns:
        tuple: uint8 images (N, C, H, W) and the data samples.

    Raises:
        ValueError: If ``need`` is given and the split has fewer than ``n`` images.
    """
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmpretrain')):
        batch = next(iter(Runner.build_dataloader(dict(
            cfg.test_dataloader, batch_size=n, num_workers=0, persistent_workers=False))))
    images = batch['inputs']
    if isinstance(images, (list, tuple)):  # mmengine's pseudo_collate
        images = torch.stack(list(images))
    if need is not None and len(images) < n:
        raise ValueError(f'the test set has {len(images)} images, fewer than {need}.')
    return images, batch['data_samples']


def fuse_stages(model) -> None:
    """Fold BatchNorm into the preceding convs of every stage of a cascade, in place."""
    from mmcv.cnn import fuse_conv_bn
    model.eval()
    for role in model.stage_names:
        setattr(model, role, fuse_conv_bn(getattr(model, role)))


def time_fn(fn: Callable[[], object], warmup: int, repeats: int) -> List[float]:
    """Seconds per call of ``fn``, after ``warmup`` untimed calls.

    CUDA work is synchronised before and after each timed call.
    """
    return time_fns({'fn': fn}, warmup, repeats)['fn']


def time_fns(fns: Dict[str, Callable[[], object]], warmup: int,
             repeats: int) -> Dict[str, List[float]]:
    """Seconds per call of each function, timed in alternation.

    Each round calls every function once, in an order reversed every other
    round, so drift of the machine's speed (other load, frequency scaling)
    affects all of them alike and their ratios stay fair.

    Args:
        fns (dict[str, callable]): Functions to time.
        warmup (int): Untimed rounds first.
        repeats (int): Timed rounds.

    Returns:
        dict[str, list[float]]: ``repeats`` timings per function.
    """
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    names = list(fns)
    times: Dict[str, List[float]] = {k: [] for k in names}
    for i in range(warmup + repeats):
        for name in (names if i % 2 == 0 else names[::-1]):
            sync()
            start = time.perf_counter()
            fns[name]()
            sync()
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    return times

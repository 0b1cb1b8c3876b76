"""What PyTorch itself offers on the CPU for a cascade's stages, measured."""
import copy
import os.path as osp
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch

__all__ = ['PYTORCH_OPTIONS', 'OPTION_COLUMNS', 'apply_option', 'pytorch_options_study']

PYTORCH_OPTIONS = ('eager', 'fuse_conv_bn', 'channels_last', 'compile')
OPTION_COLUMNS = ['config', 'stage', 'option', 'batch_size', 'ms_per_img', 'speedup_vs_eager',
                  'max_abs_diff', 'setup_s']


def apply_option(stage: torch.nn.Module, option: str) -> torch.nn.Module:
    """A copy of an mmpretrain classifier with one PyTorch CPU option applied.

    ``fuse_conv_bn``: mmcv's BatchNorm folding (as ``--fuse-conv-bn``);
    ``channels_last``: weights in NHWC (inputs follow at the first conv);
    ``compile``: ``torch.compile`` of the backbone, neck and head (inductor).

    Raises:
        ValueError: On an unknown option.
    """
    if option not in PYTORCH_OPTIONS:
        raise ValueError(f'option {option!r} is unknown; choose one of {PYTORCH_OPTIONS}.')
    stage = copy.deepcopy(stage).eval()
    if option == 'fuse_conv_bn':
        from mmcv.cnn import fuse_conv_bn
        stage = fuse_conv_bn(stage)
    elif option == 'channels_last':
        stage = stage.to(memory_format=torch.channels_last)
    elif option == 'compile':
        for name in ('backbone', 'neck', 'head'):
            part = getattr(stage, name, None)
            if part is not None:
                setattr(stage, name, torch.compile(part, dynamic=False))
    return stage


@torch.no_grad()
def pytorch_options_study(config: str, batch_sizes: Sequence[int] = (32, 256),
                          options: Sequence[str] = PYTORCH_OPTIONS, warmup: int = 3,
                          repeats: int = 15, out: Optional[str] = None) -> List[dict]:
    """Time each stage of a cascade under each option, in alternation, on its test images.

    Each option's copy of the saver and of the base answers the same raw batch
    through ``test_step``; all options of a stage are timed round by round in
    alternation (machine drift affects them alike); ``speedup_vs_eager`` is the
    median over rounds of eager's time over the option's in the same round.
    ``max_abs_diff`` is the largest probability difference to eager (the option
    must not change the answers); ``setup_s`` the time to apply the option and
    run its first batch (``torch.compile`` compiles then).

    Args:
        config (str): A ``TinySaverClassifier`` config.
        batch_sizes (Sequence[int]): Batch sizes.
        options (Sequence[str]): Of :data:`PYTORCH_OPTIONS` (``eager`` is always timed).
        warmup, repeats (int): Untimed and timed rounds.
        out (str, optional): CSV to merge the rows into.

    Returns:
        list[dict]: Rows of :data:`OPTION_COLUMNS`.
    """
    from mmengine.runner import Runner

    from tinysaver_mm.models.classifiers import classifier_probs, preprocess
    from tinysaver_mm.utils.report import merge_csv
    from .timing import time_fns
    from ..deploy import init_deployable
    options = ['eager'] + [o for o in options if o != 'eager']
    model = init_deployable(config)
    cfg = model.cfg
    n = max(batch_sizes)
    loader = dict(cfg.test_dataloader, batch_size=n, num_workers=0, persistent_workers=False)
    images = next(iter(Runner.build_dataloader(loader)))['inputs']
    images = torch.stack(list(images)) if isinstance(images, (list, tuple)) else images
    rows = []
    for role in model.stage_names:
        stage = getattr(model, role)
        variants, setup = {}, {}
        ref = classifier_probs(stage, preprocess(stage, images[:n]))
        diff: Dict[str, float] = {}
        for opt in options:
            start = time.perf_counter()
            v = apply_option(stage, opt)
            probs = classifier_probs(v, preprocess(v, images[:n]))
            setup[opt] = time.perf_counter() - start
            diff[opt] = float((probs - ref).abs().max())
            variants[opt] = v
        for bs in batch_sizes:
            data = {'inputs': images[:bs], 'data_samples': None}
            fns: Dict[str, Callable] = {o: (lambda v=v: v.test_step(data))
                                        for o, v in variants.items()}
            t = time_fns(fns, warmup, repeats)
            for opt in options:
                rows.append(dict(
                    config=osp.basename(config), stage=role, option=opt, batch_size=bs,
                    ms_per_img=1e3 * statistics.median(t[opt]) / bs,
                    speedup_vs_eager=statistics.median(e / x for e, x in zip(t['eager'], t[opt])),
                    max_abs_diff=diff[opt], setup_s=setup[opt]))
    if out:
        merge_csv(rows, out, OPTION_COLUMNS, key=('config', 'stage', 'option', 'batch_size'))
    return rows

"""Build mmengine Runners from configs, as the tools/ scripts do."""
import os.path as osp
from typing import List, Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from tinysaver_mm.utils import (check_coco_files, check_nonempty, check_outputs,
                                load_checkpoint_strict)

__all__ = ['load_cfg', 'follow_max_epochs', 'build_runner', 'check_nonempty', 'check_dataset_cfg',
           'finish_distributed',
           'run_test', 'run_train', 'trained_checkpoint']


def load_cfg(config: str, cfg_options: Optional[dict] = None,
             work_dir: Optional[str] = None, launcher: str = 'none') -> Config:
    """Read a config and apply CLI overrides as OpenMMLab tools do.

    Args:
        config (str): Config file path.
        cfg_options (dict, optional): ``--cfg-options`` key=value overrides.
        work_dir (str, optional): Overrides ``work_dir``; defaults to
            ``./work_dirs/<config name>``.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        Config: The merged config.

    Raises:
        FileNotFoundError: If ``config`` does not exist.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'Config {config!r} does not exist.')
    cfg = Config.fromfile(config)
    if cfg_options:
        old_max = cfg.get('train_cfg', {}).get('max_epochs')
        cfg.merge_from_dict(cfg_options)
        for line in follow_max_epochs(cfg, old_max, cfg_options):
            print(f'[tinysaver] {line}')
    cfg.launcher = launcher
    if launcher != 'none':
        _setup_cpu_distributed(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


def follow_max_epochs(cfg: Config, old_max: Optional[int],
                      cfg_options: dict) -> List[str]:
    """Stretch epoch schedules that ended at the old ``max_epochs``.

    A base config resolves ``end=max_epochs`` when it is parsed, so
    ``--cfg-options train_cfg.max_epochs=30`` alone would keep a cosine decay
    ending at the old epoch and train every later epoch at its final rate.
    When ``train_cfg.max_epochs`` is overridden and ``param_scheduler`` is not,
    each epoch-based scheduler whose ``end`` (and ``T_max``) equalled the old
    ``max_epochs`` is moved to the new one, in place.

    Args:
        cfg (Config): The merged config (changed in place).
        old_max (int, optional): ``train_cfg.max_epochs`` before the overrides.
        cfg_options (dict): The overrides applied.

    Returns:
        list[str]: One line per changed key (printed by ``load_cfg``).

    Raises:
        ValueError: If the new ``max_epochs`` ends such a scheduler before it
            begins (e.g. 1 epoch after a 1-epoch warm-up).
    """
    new_max = cfg.get('train_cfg', {}).get('max_epochs')
    if (old_max is None or new_max == old_max or 'train_cfg.max_epochs' not in cfg_options
            or any(k.startswith('param_scheduler') for k in cfg_options)):
        return []
    scheds = cfg.get('param_scheduler') or []
    scheds = [scheds] if isinstance(scheds, dict) else scheds
    changed = []
    for i, sch in enumerate(scheds):
        if not sch.get('by_epoch', True):
            continue
        begin = sch.get('begin', 0)
        if sch.get('end') == old_max and new_max <= begin:
            raise ValueError(
                f'train_cfg.max_epochs={new_max} leaves no epoch for param_scheduler[{i}] '
                f'({sch.get("type")}, begins at epoch {begin}, ended at the old max_epochs='
                f'{old_max}): use max_epochs > {begin} or override param_scheduler too.')
        # T_max counts epochs from begin; end is an epoch index
        for key, was, now in (('end', old_max, new_max),
                              ('T_max', old_max - begin, new_max - begin)):
            if sch.get(key) == was:
                sch[key] = now
                changed.append(f'param_scheduler[{i}].{key}: {was} -> {now} '
                               f'(follows train_cfg.max_epochs={new_max})')
    return changed


def _setup_cpu_distributed(cfg: Config) -> None:
    """Let mmengine's distributed runner work on CPU-only machines.

    mmengine's ``pytorch`` launcher calls ``torch.cuda.set_device`` and wraps
    the model with ``device_ids=[LOCAL_RANK]``, both of which fail without a
    GPU. Without CUDA, the process group is started here with gloo (mmengine
    then skips its own start) and DDP gets ``device_ids=None``, unless the
    config already sets a ``model_wrapper_cfg``. The wrapper is
    ``TinySaverDistributedDataParallel``: DDP, or a plain holder for a cascade
    whose parts are all frozen (torch's DDP refuses those).
    """
    import torch
    import torch.distributed as dist
    if torch.cuda.is_available():
        return
    if cfg.launcher == 'pytorch' and not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='TinySaverDistributedDataParallel',
                                     device_ids=None, broadcast_buffers=False)


def _make_runner(cfg: Config) -> Runner:
    """Build the config's runner (``runner_type`` if it names one)."""
    if 'runner_type' in cfg:
        from mmengine.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def build_runner(cfg: Config, checkpoint: Optional[str] = None) -> Runner:
    """Build a Runner for testing and load weights strictly into its model.

    mmengine's ``load_from`` is non-strict (a prefix mismatch is only a
    warning), so the weights (``checkpoint``, else the config's
    ``load_from``) are loaded here instead, refusing any missing or
    unexpected key. They replace what a cascade's stages loaded from their
    own ``checkpoint=``.

    Args:
        cfg (Config): The config.
        checkpoint (str, optional): Weights for the whole model.

    Returns:
        Runner: Ready to ``test()``.
    """
    checkpoint = checkpoint or cfg.get('load_from')
    cfg.load_from = None
    runner = _make_runner(cfg)
    if checkpoint is not None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        given = {k: v for k, v in getattr(model, 'checkpoints', {}).items() if v}
        if given:
            print_log(f'{checkpoint} replaces the stage checkpoints {given}.',
                      'current')
        load_checkpoint_strict(model, checkpoint)
    return runner


def run_train(cfg: Config, resume: bool = False,
              publish: Optional[str] = None, overwrite: bool = False) -> Optional[str]:
    """Train the config's model (``tools/train.py``), as mmengine does.

    Args:
        cfg (Config): The config (its ``load_from`` is honoured, non-strict,
            as usual for fine-tuning).
        resume (bool): Resume from the latest checkpoint in ``work_dir``.
        publish (str, optional): Also write the best checkpoint's weights to
            this stable path (``utils.publish_checkpoint``).
        overwrite (bool): Let ``publish`` replace an existing file.

    Returns:
        str | None: The best checkpoint the run saved (``save_best``), else
        the last one; None when it saved none.

    Raises:
        OutputExistsError: If ``publish`` exists and ``overwrite`` is False
            (checked before training).
        ValueError: If ``publish`` is given but the run saved no checkpoint.
    """
    from tinysaver_mm.utils import publish_checkpoint
    if publish:
        check_outputs([publish], overwrite)
    cfg.resume = resume
    runner = _make_runner(cfg)
    runner.train()
    best = trained_checkpoint(runner)
    if publish:
        if best is None:
            raise ValueError(f'--publish {publish}: the run saved no checkpoint; enable '
                             'default_hooks.checkpoint in the config.')
        publish_checkpoint(best, publish, overwrite)
    return best


def trained_checkpoint(runner: Runner) -> Optional[str]:
    """The best checkpoint a finished run saved, else its last one.

    Args:
        runner (Runner): A runner after ``train()``.

    Returns:
        str | None: The checkpoint path, or None when none was saved.
    """
    from mmengine.hooks import CheckpointHook
    for hook in runner.hooks:
        if isinstance(hook, CheckpointHook):
            best = getattr(hook, 'best_ckpt_path', None) or next(
                iter(getattr(hook, 'best_ckpt_path_dict', {}).values()), None)
            if best and osp.isfile(best):
                return best
    last = osp.join(runner.work_dir, 'last_checkpoint')
    if osp.isfile(last):
        with open(last) as f:
            path = f.read().strip()
        return path if osp.isfile(path) else None
    return None


def finish_distributed() -> None:
    """Wait for every rank, then close the process group, if one is open.

    A rank that exits while the gloo group still runs its threads can abort
    ("terminate called without an active exception"), failing the launch.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def check_dataset_cfg(cfg: Config, ds_cfg: dict, split: str) -> None:
    """Refuse a dataset config that yields no sample or has missing images.

    mmengine's BaseDataset crashes deep inside (``np.concatenate`` of nothing)
    when it serialises an empty dataset, so the dataset is first built here
    without serialisation and checked; COCO-style datasets are also checked
    for missing image files and annotations of unlisted images.

    Args:
        cfg (Config): The whole config (for its ``default_scope``).
        ds_cfg (dict): The dataset config.
        split (str): Its name in the message, e.g. ``'test'``.

    Raises:
        ValueError: If the dataset is empty, or (COCO annotations) image
            files are missing or annotations refer to unlisted images.
    """
    from mmengine.registry import DATASETS, DefaultScope
    ds_cfg = dict(ds_cfg)
    # the config's scope for this build only (the caller's scope is kept)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmengine')):
        try:
            dataset = DATASETS.build(dict(ds_cfg, serialize_data=False))
        except TypeError:  # a dataset type without serialize_data
            dataset = DATASETS.build(ds_cfg)
    check_nonempty(dataset, split)
    check_coco_files(dataset, split)


def run_test(cfg: Config, checkpoint: Optional[str] = None,
             out: Optional[str] = None, overwrite: bool = False) -> dict:
    """Evaluate a config's model on its test set (``tools/test.py``).

    Args:
        cfg (Config): The config.
        checkpoint (str, optional): Weights for the whole model.
        out (str, optional): Dump per-sample predictions to this ``.pkl``.
        overwrite (bool): Replace ``out`` when it exists.

    Returns:
        dict: The test metrics.

    Raises:
        OutputExistsError: If ``out`` exists and ``overwrite`` is False.
        ValueError: If ``out`` is the checkpoint or the config file.
    """
    check_outputs([out], overwrite, [checkpoint, cfg.filename])
    check_dataset_cfg(cfg, cfg.test_dataloader.dataset, 'test')
    runner = build_runner(cfg, checkpoint)
    if out is not None:
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=out))
    return runner.test()

"""Build mmengine Runners from configs, as the tools/ scripts do."""
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from tinysaver_mm.utils import (check_coco_files, check_nonempty, check_outputs,
                                load_checkpoint_strict)

__all__ = ['load_cfg', 'build_runner', 'check_nonempty', 'check_dataset_cfg',
           'finish_distributed',
           'run_test', 'run_train']


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
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if launcher != 'none':
        _setup_cpu_distributed(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


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


def run_train(cfg: Config, resume: bool = False) -> None:
    """Train the config's model (``tools/train.py``), as mmengine does.

    Args:
        cfg (Config): The config (its ``load_from`` is honoured, non-strict,
            as usual for fine-tuning).
        resume (bool): Resume from the latest checkpoint in ``work_dir``.
    """
    cfg.resume = resume
    _make_runner(cfg).train()


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

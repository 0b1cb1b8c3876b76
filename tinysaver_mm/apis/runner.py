"""Build mmengine Runners from configs, as the tools/ scripts do."""
import os.path as osp
from typing import List, Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from tinysaver_mm.utils import (check_coco_files, check_nonempty, check_outputs,
                                load_checkpoint_strict)

__all__ = ['load_cfg', 'follow_max_epochs', 'build_runner', 'check_nonempty', 'check_dataset_cfg', 'model_in_channels',
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
    for split in ('train', 'val'):
        loader = cfg.get(f'{split}_dataloader')
        if loader is not None and cfg.get(f'{split}_cfg') is not None:
            check_dataset_cfg(cfg, loader['dataset'], split)
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
    """Refuse a dataset config that yields no sample or does not fit the model.

    mmengine's BaseDataset crashes deep inside (``np.concatenate`` of nothing)
    when it serialises an empty dataset, so the dataset is first built here
    without serialisation and checked: keys the dataset type does not take
    (inherited from a base config), empty image folders and class folders,
    class folders that differ from the training split's, a class count the
    model's head does not have, images whose channel count is not what the
    model's backbone takes, and (COCO annotations) missing image files or
    annotations of unlisted images.

    Args:
        cfg (Config): The whole config (its ``default_scope`` and ``model``).
        ds_cfg (dict): The dataset config.
        split (str): Its name in the message, e.g. ``'test'``.

    Raises:
        ValueError: On any of the above, naming the bad value and the fix.
    """
    from mmengine.registry import DATASETS, DefaultScope
    from tinysaver_mm.utils import check_class_folders
    ds_cfg = dict(ds_cfg)
    # the config's scope for this build only (the caller's scope is kept)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmengine')):
        try:
            try:
                dataset = DATASETS.build(dict(ds_cfg, serialize_data=False))
            except TypeError as err:
                if 'serialize_data' not in str(err):
                    raise
                dataset = DATASETS.build(ds_cfg)  # a dataset type without serialize_data
        except TypeError as err:
            _explain_dataset_error(err, ds_cfg, split)
            raise
        except RuntimeError as err:
            if 'Found 0 files' in str(err):
                raise ValueError(
                    f'The {split} split has no image: {err} Check {split}_dataloader.dataset '
                    f'(data_root={ds_cfg.get("data_root")!r}, '
                    f'data_prefix={ds_cfg.get("data_prefix")!r}).') from None
            raise
    check_nonempty(dataset, split)
    check_class_folders(dataset, split, _train_folder_classes(cfg, split))
    _check_fits_model(cfg, dataset, split)
    check_coco_files(dataset, split)


def _explain_dataset_error(err: TypeError, ds_cfg: dict, split: str) -> None:
    """Turn "unexpected keyword argument" into a message naming the key and the fix."""
    import re
    found = re.search(r"unexpected keyword argument '(\w+)'", str(err))
    if found is None:
        return
    key = found.group(1)
    raise ValueError(
        f'{split}_dataloader.dataset: {ds_cfg.get("type")} does not take {key}='
        f'{ds_cfg.get(key)!r}; the key is probably inherited from a base config (e.g. '
        "Fashion-MNIST's split='train'). Replace the whole dataset dict with "
        'dataset=dict(_delete_=True, type=..., ...), or start from '
        'configs/custom/_base_/image_folder.py (docs/en/user_guides/own_data.md).') from None


def _train_folder_classes(cfg: Config, split: str) -> Optional[List[str]]:
    """Class folder names of the training split, for a folder-layout dataset."""
    import os
    train = (cfg.get('train_dataloader') or {}).get('dataset') or {}
    if split == 'train' or train.get('type') != 'CustomDataset' or train.get('ann_file'):
        return None
    prefix = train.get('data_prefix', '')
    prefix = prefix.get('img_path', '') if isinstance(prefix, dict) else prefix
    root = osp.join(train.get('data_root', ''), prefix)
    if not osp.isdir(root):
        return None
    return sorted(d for d in os.listdir(root) if osp.isdir(osp.join(root, d)))


def model_in_channels(model_cfg: dict) -> dict:
    """Input channels each stage's backbone states (``role -> (channels, where)``).

    Args:
        model_cfg (dict): A plain model config or a cascade's (``saver``,
            ``mids``, ``base`` stage specs).

    Returns:
        dict: Only the stages whose backbone states ``in_channels``.
    """
    from tinysaver_mm.utils import resolve_stage_spec
    stages = {}
    if 'saver' in model_cfg and 'base' in model_cfg:
        specs = [('saver', model_cfg['saver'])] + [
            (f'mid{i}', m) for i, m in enumerate(model_cfg.get('mids') or [])]
        for role, spec in specs + [('base', model_cfg['base'])]:
            if isinstance(spec, dict):
                try:
                    stages[role] = (resolve_stage_spec(spec, role)[0],
                                    spec.get('cfg_path') or 'its model dict')
                except Exception:  # the cascade's own build reports a bad spec
                    continue
    else:
        stages['model'] = (model_cfg, 'model')
    out = {}
    for role, (m, where) in stages.items():
        ch = (m.get('backbone') or {}).get('in_channels')
        if isinstance(ch, int):
            out[role] = (ch, where)
    return out


def _check_fits_model(cfg: Config, dataset, split: str) -> None:
    """Refuse images of another channel count, or classes of another count, than the model's."""
    model_cfg = cfg.get('model') or {}
    classes = getattr(dataset, 'metainfo', {}).get('classes')
    heads = model_cfg.get('head') or {}
    num = heads.get('num_classes') if isinstance(heads, dict) else None
    if classes and isinstance(num, int) and type(dataset).__name__ == 'CustomDataset' \
            and len(classes) != num:
        raise ValueError(
            f'The {split} split has {len(classes)} classes ({list(classes)[:10]}...) but the '
            f'model\'s head has num_classes={num}; set num_classes={len(classes)} in the '
            'dataset config (configs/custom/_base_/image_folder.py) or fix the class folders.')
    expected = model_in_channels(model_cfg)
    if not expected:
        return
    inputs = dataset[0].get('inputs')
    if inputs is None or getattr(inputs, 'ndim', 0) != 3:
        return
    got = int(inputs.shape[0])
    for role, (ch, where) in expected.items():
        if ch != got:
            fix = ("LoadImageFromFile(color_type='grayscale') in the pipelines for a grey model"
                   if ch == 1 else "LoadImageFromFile(color_type='color') in the pipelines"
                   if got == 1 else f'a pipeline that gives {ch} channels')
            raise ValueError(
                f'The {split} images have {got} channel(s) but the {role} takes {ch} '
                f'(backbone.in_channels={ch}, {where}): use {fix}, or a model for {got}-channel '
                f'images (backbone.in_channels={got} and a {got}-value mean/std, e.g. '
                'configs/custom/*_color.py for colour).')


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

"""Per-sample records of models on a dataset: what calibration works from."""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from tqdm import tqdm

from tinysaver_mm.core import CONFIDENCE_RULES, confidence_scores

__all__ = ['model_stages', 'predict_stages', 'record', 'load_records', 'check_aligned',
           'check_distinct', 'dataset_identity']

def model_stages(model) -> Dict[str, torch.nn.Module]:
    """What is recorded, each with the module whose weights it depends on.

    The stages of a cascade, or ``{'model': model}`` for a plain classifier;
    for a cascade with exits inside a stage (``TinySaverESN``: it has
    ``route_probs``) its routing steps, the exits' steps naming the exits.
    """
    if hasattr(model, 'route_probs'):
        return {n: getattr(model, n if n in model.stage_names else model.train_part)
                for n in model.route_names}
    names = getattr(model, 'stage_names', None)
    return {n: getattr(model, n) for n in names} if names else {'model': model}


def _batch_probs(model, stages: Dict[str, torch.nn.Module],
                 inputs) -> Dict[str, torch.Tensor]:
    """Class probabilities of everything recorded on one raw batch (no routing)."""
    from tinysaver_mm.models.classifiers import classifier_probs, preprocess
    if hasattr(model, 'route_probs'):
        return {r: p.cpu() for r, p in model.route_probs(inputs).items()}
    return {role: classifier_probs(stage, preprocess(stage, inputs), role).cpu()
            for role, stage in stages.items()}


def _step_macs(model, stages: Dict[str, torch.nn.Module], inputs) -> Dict[str, int]:
    """MACs per image of everything recorded, on the first image of a raw batch.

    A routing step's are its own (what it adds to the steps before it), and
    ``base_alone`` the plain base's; a stage's are the whole stage's.
    """
    from tinysaver_mm.models.classifiers import preprocess
    from tinysaver_mm.utils import measure_macs
    if hasattr(model, 'route_probs'):
        return {r: int(model.measure_part(r, inputs[0]))
                for r in tuple(stages) + ('base_alone', )}
    return {role: measure_macs(stage, preprocess(stage, inputs)[:1])
            for role, stage in stages.items()}


@torch.no_grad()
def predict_stages(model, dataloader, desc: str = 'records') -> Dict[str, np.ndarray]:
    """Class probabilities of each stage (no routing) on a whole dataloader.

    Args:
        model: A plain mmpretrain classifier or a TinySaver cascade.
        dataloader: Yields raw batches with ``gt_label`` in the data samples.
        desc (str): Progress-bar label.

    Returns:
        dict: ``labels`` and ``sample_idx`` (N,), and per stage (or routing
        step, see :func:`model_stages`) ``probs_<stage>`` (N, num_classes)
        and ``macs_<stage>`` (MACs/image; a routing step's own, plus
        ``macs_base_alone``).

    Raises:
        ValueError: If the dataset is empty.
    """
    if len(dataloader.dataset) == 0:
        raise ValueError(f'{desc}: the dataset is empty; check the dataloader.')
    stages = model_stages(model)
    model.eval()
    probs: Dict[str, list] = {r: [] for r in stages}
    macs: Dict[str, int] = {}
    labels, indices = [], []
    for batch in tqdm(dataloader, desc=desc, unit='batch'):
        if not macs:
            macs = _step_macs(model, stages, batch['inputs'])
        for role, p in _batch_probs(model, stages, batch['inputs']).items():
            probs[role].append(p)
        for ds in batch['data_samples']:
            labels.append(int(ds.gt_label[0]))
            indices.append(int(ds.get('sample_idx', len(indices))))
    out = {f'probs_{r}': torch.cat(p).numpy() for r, p in probs.items()}
    out['labels'] = np.asarray(labels, dtype=np.int64)
    out['sample_idx'] = np.asarray(indices, dtype=np.int64)
    out = _gather_ranks(out)
    out.update({f'macs_{r}': np.int64(m) for r, m in macs.items()})
    return out


def _gather_ranks(out: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Join the shards of a distributed run, in sample order, once each.

    mmengine's DefaultSampler gives each rank a shard and pads the last one
    with repeats; every rank gets the joined arrays with duplicates dropped.
    """
    from mmengine.dist import all_gather_object, get_world_size
    if get_world_size() == 1:
        return out
    parts = all_gather_object(out)
    joined = {k: np.concatenate([p[k] for p in parts]) for k in out}
    _, first = np.unique(joined['sample_idx'], return_index=True)
    return {k: v[first] for k, v in joined.items()}


def record(cfg, checkpoint: Optional[str], split: str, aug: bool = False,
           out_dir: str = 'records', config_path: str = '',
           overwrite: bool = False) -> List[str]:
    """Record every stage of a config's model on one split (``tools/record.py``).

    Without ``aug`` the split is read with the test pipeline; with ``aug``
    (training split only) with the config's training pipeline, as the paper
    does for saver selection. Samples are always in dataset order.

    Args:
        cfg (Config): Model and dataloader config.
        checkpoint (str, optional): Weights for the whole model (strict).
        split (str): One of :data:`~tinysaver_mm.utils.SPLITS`.
        aug (bool): Use the training augmentation (train split only).
        out_dir (str): Where to write ``<config>_<split>[_aug]_<stage>.npz``.
        config_path (str): Recorded in the metadata.
        overwrite (bool): Replace record files that exist already.

    Returns:
        list[str]: The files written.

    Raises:
        ValueError: On an unknown split, ``aug`` off the train split, a
            config without that split, or an empty dataset.
        OutputExistsError: If a record file exists and ``overwrite`` is False.
    """
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from tinysaver_mm.utils import (check_outputs, load_checkpoint_strict, stage_model_name,
                                    state_dict_fingerprint)
    from tinysaver_mm.utils import split_loader_key
    key = split_loader_key(cfg, split)
    if aug and split != 'train':
        raise ValueError('--aug records the training split with its training '
                         f'augmentation; it does not apply to split {split!r}.')
    loader = dict(cfg[key], sampler=dict(type='DefaultSampler', shuffle=False),
                  persistent_workers=False)
    if not aug:
        loader['dataset'] = dict(loader['dataset'],
                                 pipeline=cfg.test_dataloader.dataset.pipeline)
    from .runner import check_dataset_cfg
    check_dataset_cfg(cfg, loader['dataset'], split)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmpretrain.registry import MODELS
    from tinysaver_mm.utils import model_cfg_of
    model = MODELS.build(model_cfg_of(cfg))
    if checkpoint:
        load_checkpoint_strict(model, checkpoint)
    name = osp.splitext(osp.basename(config_path))[0] or 'model'
    paths = {role: osp.join(out_dir, f'{name}_{split}{"_aug" if aug else ""}'
                            f'{"" if role == "model" else "_" + role}.npz')
             for role in model_stages(model)}
    check_outputs(paths.values(), overwrite, [checkpoint, config_path])
    # a fixed seed gives every model the same augmented images (--aug)
    rec = predict_stages(model, Runner.build_dataloader(loader, seed=0),
                         f'record {split}')
    ds = loader['dataset']
    meta = dict(config=config_path, checkpoint=checkpoint, split=split, aug=bool(aug),
                dataset=dataset_identity(ds),
                num_samples=int(len(rec['labels'])))
    from mmengine.dist import is_main_process
    if not is_main_process():
        return []
    os.makedirs(out_dir, exist_ok=True)
    written = []
    stages = model_stages(model)
    for role, path in paths.items():
        probs = rec[f'probs_{role}']
        fields = {f'conf_{rule}': confidence_scores(torch.from_numpy(probs), rule).numpy()
                  for rule in CONFIDENCE_RULES}
        spec = cfg.model.get(role) if role != 'model' else None
        stage_meta = dict(meta, stage=role, num_classes=int(probs.shape[1]),
                          model=stage_model_name(spec if isinstance(spec, dict) and spec.get(
                              'cfg_path') else config_path or 'model'),
                          macs_per_img=int(rec[f'macs_{role}']),
                          fingerprint=state_dict_fingerprint(stages[role]).hex())
        if 'macs_base_alone' in rec:  # routing steps: each costs what it adds
            stage_meta.update(route_steps=list(stages),
                              macs_base_alone=int(rec['macs_base_alone']))
            if role not in ('saver', 'base'):
                stage_meta['model'] = f'{name}:{role}'
        np.savez_compressed(path, probs=probs.astype(np.float16), pred=probs.argmax(1),
                            labels=rec['labels'], sample_idx=rec['sample_idx'],
                            meta=json.dumps(stage_meta), **fields)
        written.append(path)
    return written


def dataset_identity(ds: dict) -> dict:
    """What tells one recorded dataset from another, as JSON-able metadata.

    The type, root, split, the folder or annotation file inside the root
    (``data_prefix``, ``ann_file``: two image folders under one root differ
    there) and the subset (``indices``).

    Args:
        ds (dict): A dataset config.

    Returns:
        dict: ``type, data_root, split, data_prefix, ann_file, indices``.
    """
    prefix = ds.get('data_prefix')
    return dict(type=ds.get('type'), data_root=ds.get('data_root'), split=ds.get('split'),
                data_prefix=prefix if isinstance(prefix, (str, type(None))) else dict(prefix),
                ann_file=ds.get('ann_file'), indices=repr(ds.get('indices')))


_KINDS = {'labels': ('classification records', 'tools/calibrate.py or tools/select_saver.py'),
          'img_ids': ('detection records', 'tools/train_evaluator.py'),
          'img_paths': ('segmentation records', 'tools/train_evaluator.py')}


def records_kind(path: str) -> str:
    """``'classification'``, ``'detection'`` or ``'segmentation'`` records.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not a readable record file of a known kind.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'records {path!r} do not exist; make them with '
                                'tools/record.py.')
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = set(f.files)
    except Exception as err:
        raise ValueError(f'{path!r} is not a readable record file ({type(err).__name__}): '
                         'make records with tools/record.py.') from None
    for key, (kind, _) in _KINDS.items():
        if key in keys:
            return kind.split()[0]
    raise ValueError(f'{path!r} holds none of {sorted(_KINDS)}: it is not a tools/record.py '
                     'record file.')


def load_records(path: str, count_key: str = 'labels', what: str = 'records',
                 required: Sequence[str] = ()) -> dict:
    """Load one ``.npz`` record file with its metadata under ``meta``.

    Args:
        path (str): The file.
        count_key (str): Array with one entry per sample (checked non-empty):
            ``'labels'`` for classification records, ``'img_ids'`` for
            detection records, ``'img_paths'`` for segmentation records.
        what (str): What to call the file in messages.
        required (Sequence[str]): Arrays the caller needs.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not a record file (damaged, truncated, another
            kind of file, the other task's records), misses a field, holds no
            sample, or has confidences that are not finite (with the count).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path!r} do not exist; make them with '
                                'tools/record.py.')
    try:
        with np.load(path, allow_pickle=False) as f:
            rec = {k: f[k] for k in f.files}
    except Exception as err:  # numpy raises BadZipFile, OSError, ValueError, EOFError...
        raise ValueError(f'{path!r} is not a readable record file ({type(err).__name__}: '
                         f'{str(err)[:120]}): it is damaged, truncated or another kind of '
                         'file. Make records with tools/record.py.') from None
    if 'meta' not in rec:
        raise ValueError(f'{path!r} has no "meta" field: it is not a tools/record.py record '
                         'file. Make records with tools/record.py.')
    rec['meta'] = json.loads(str(rec['meta']))
    if count_key not in rec:
        other = next((k for k in _KINDS if k != count_key and k in rec), None)
        if other is not None:
            kind, tool = _KINDS[other]
            raise ValueError(f'{path!r} holds {kind}, not {what}; give it to {tool}.')
        raise ValueError(f'{what} {path!r} have no {count_key!r} field; re-record them '
                         'with tools/record.py.')
    missing = [k for k in required if k not in rec]
    if missing:
        raise ValueError(f'{what} {path!r} miss the field(s) {missing} (present: '
                         f'{sorted(k for k in rec if k != "meta")}); re-record them with '
                         'this version of tools/record.py.')
    if rec[count_key].size == 0:
        raise ValueError(f'{what} {path!r} are empty.')
    for key, value in rec.items():
        if key.startswith(('conf_', 'probs', 'policy_')) and value.dtype.kind == 'f':
            bad = int((~np.isfinite(value)).sum())
            if bad:
                raise ValueError(
                    f'{what} {path!r}: {bad} of {value.size} values of {key!r} are not finite '
                    '(NaN/inf: e.g. NaN pixels or an overflowing model). A threshold fitted on '
                    'them would be meaningless; fix the inputs or the model and re-record.')
    return rec


def check_distinct(paths: Sequence[str], records: Optional[Dict[str, dict]] = None) -> None:
    """Refuse one record file given twice, or two files recording the same weights.

    A cascade's records are one file per stage; the same file as saver and
    base (or one model recorded twice) would calibrate a cascade of a model
    with itself, whose "MACs saved" is 0 %.

    Args:
        paths (Sequence[str]): The record files, in the order given.
        records (dict, optional): Path to loaded records; when given, two
            stage records (not an ESN's routing steps, which may share a
            part) with the same weights fingerprint are refused too.

    Raises:
        ValueError: Naming the file given twice, or the two files of one model.
    """
    seen: Dict[str, str] = {}
    for path in paths:
        real = osp.realpath(path)
        if real in seen:
            same = '' if seen[real] == path else f' (as {seen[real]!r} and {path!r})'
            raise ValueError(
                f'The record file {path!r} is given twice{same}: a cascade needs one record '
                'file per stage (e.g. ..._saver.npz ..._base.npz from one tools/record.py '
                'run), in order.')
        seen[real] = path
    if records is None:
        return
    fps: Dict[str, str] = {}
    for path in paths:
        meta = records[path]['meta']
        fp = None if meta.get('route_steps') else meta.get('fingerprint')
        if fp is not None and fp in fps:
            raise ValueError(
                f'The record files {fps[fp]!r} and {path!r} record the same weights '
                f'(fingerprint {fp[:12]}...): a cascade of one model with itself saves '
                'nothing. Give the records of each stage of the cascade, in order.')
        if fp is not None:
            fps[fp] = path


def check_aligned(records: Dict[str, dict]) -> None:
    """Refuse records that do not describe the same samples in the same order.

    Args:
        records (dict): Name to loaded records.

    Raises:
        ValueError: Naming the first pair that differs in dataset, split,
            augmentation, sample order, labels or class count.
    """
    items = list(records.items())
    ref_name, ref = items[0]
    for name, rec in items[1:]:
        for key in ('dataset', 'split', 'aug', 'num_classes'):
            if rec['meta'][key] != ref['meta'][key]:
                raise ValueError(
                    f'records {name!r} and {ref_name!r} differ in {key}: '
                    f'{rec["meta"][key]!r} vs {ref["meta"][key]!r}. Record both '
                    'models on the same data with the same tools/record.py options.')
        if not np.array_equal(rec['sample_idx'], ref['sample_idx']):
            raise ValueError(f'records {name!r} and {ref_name!r} list different '
                             'samples or a different order; re-record both.')
        if not np.array_equal(rec['labels'], ref['labels']):
            raise ValueError(f'records {name!r} and {ref_name!r} have different '
                             'ground-truth labels for the same samples.')

"""Images per second of the Runner's test loop (``tools/test.py``): base alone vs cascade."""
import copy
import os.path as osp
import shutil
import statistics
import tempfile
import time
from typing import List, Optional, Sequence

__all__ = ['END_TO_END_COLUMNS', 'end_to_end_throughput']

END_TO_END_COLUMNS = ['config', 'backend', 'model', 'num_images', 'img_per_s', 's_per_run',
                      'top1_pct', 'exit_ratio', 'repeats']


def _variants(cfg, backends: Sequence[str], deploy_dir: Optional[str]) -> dict:
    """(backend, 'base' | 'cascade') -> (config, checkpoint) for the test loop."""
    from tinysaver_mm.utils import resolve_stage_spec
    base_model, base_ckpt = resolve_stage_spec(cfg.model.base, 'base')
    accuracy = [e for e in (cfg.test_evaluator if isinstance(cfg.test_evaluator, list)
                            else [cfg.test_evaluator]) if e.get('type') == 'Accuracy']
    out = {}
    for backend in backends:
        cascade = copy.deepcopy(cfg)
        base = copy.deepcopy(cfg)
        base.custom_hooks = []  # the cascade's MACs hook has no cascade to count here
        base.test_evaluator = base.val_evaluator = accuracy
        if backend == 'pytorch':
            base.model = base_model
            out[backend, 'base'] = (base, base_ckpt)
        else:  # the exported graph holds the weights
            cascade.model.update(backend=backend, deploy_dir=deploy_dir)
            base.model = dict(type='TinySaverDeployedStage', deploy_dir=deploy_dir, stage='base')
            out[backend, 'base'] = (base, None)
        out[backend, 'cascade'] = (cascade, None)
    return out


def end_to_end_throughput(config: str, backends: Sequence[str] = ('pytorch', 'onnxruntime'),
                          repeats: int = 3, out: Optional[str] = None) -> List[dict]:
    """Time ``runner.test()`` for the base alone and the cascade, per backend.

    What a user of ``tools/test.py`` sees once the process is up: the test
    loop with data loading (the config's dataloader and workers), routing and
    the metrics, at the config's threshold. Process start, imports and model
    building are left out. The variants run in turn, ``repeats`` times, in an
    order reversed every other round; the median round is reported. The ONNX
    Runtime variants run a ``tools/deploy.py`` export of these very weights
    (a temporary folder); its base alone is ``TinySaverDeployedStage``.

    Args:
        config (str): A ``TinySaverClassifier`` config with a test dataloader.
        backends (Sequence[str]): ``'pytorch'`` and/or ``'onnxruntime'``.
        repeats (int): Rounds, >= 1.
        out (str, optional): CSV to merge the rows into (key: config, backend, model).

    Returns:
        list[dict]: Rows of :data:`END_TO_END_COLUMNS`.

    Raises:
        ValueError: On an unknown backend or ``repeats`` < 1.
        TypeError: If the config is not a classification cascade.
    """
    from tinysaver_mm.utils.report import merge_csv
    from ..deploy import export_cascade, init_deployable, probe_input_shape
    from ..runner import build_runner
    for b in backends:
        if b not in ('pytorch', 'onnxruntime'):
            raise ValueError(f'backend {b!r} is unknown; choose pytorch or onnxruntime.')
    if int(repeats) != repeats or repeats < 1:
        raise ValueError(f'repeats={repeats!r} must be a whole number >= 1.')
    model = init_deployable(config)
    cfg = model.cfg
    tmp = tempfile.mkdtemp(prefix='tinysaver_e2e_')
    try:
        deploy_dir = None
        if any(b != 'pytorch' for b in backends):
            deploy_dir = osp.join(tmp, 'deploy')
            export_cascade(model, deploy_dir, probe_input_shape(cfg), config=config)
        del model
        runners = {}
        for (backend, what), (vcfg, ckpt) in _variants(cfg, backends, deploy_dir).items():
            vcfg.work_dir = osp.join(tmp, f'{backend}_{what}')
            vcfg.log_level = 'WARNING'
            vcfg.experiment_name = f'e2e_{backend}_{what}_{time.time_ns()}'
            runners[backend, what] = build_runner(vcfg, ckpt)
        times = {k: [] for k in runners}
        metrics = {}
        keys = list(runners)
        for i in range(int(repeats)):
            for k in (keys if i % 2 == 0 else keys[::-1]):
                start = time.perf_counter()
                metrics[k] = runners[k].test()
                times[k].append(time.perf_counter() - start)
        rows = []
        for (backend, what), t in times.items():
            n = len(runners[backend, what].test_dataloader.dataset)
            med = statistics.median(t)
            m = metrics[backend, what]
            rows.append(dict(config=osp.basename(config), backend=backend, model=what,
                             num_images=n, img_per_s=n / med, s_per_run=med,
                             top1_pct=m.get('accuracy/top1', float('nan')),
                             exit_ratio=m.get('tinysaver/exit_ratio', float('nan')),
                             repeats=int(repeats)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if out:
        merge_csv(rows, out, END_TO_END_COLUMNS, key=('config', 'backend', 'model'))
    return rows

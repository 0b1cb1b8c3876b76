"""Per-stage latency of plain models (e.g. candidate savers), timed in alternation."""
import statistics
from typing import List, Optional, Sequence

import torch

from tinysaver_mm.utils.report import merge_csv
from .latency_table import STAGE_LATENCY_COLUMNS
from .timing import first_test_batch, packed, time_fns

__all__ = ['benchmark_stages']


def benchmark_stages(configs: Sequence[str], batch_sizes: Sequence[int] = (1, 32, 256),
                     backend: str = 'pytorch', warmup: int = 2, repeats: int = 5,
                     input_shape: Optional[Sequence[int]] = None,
                     out: str = 'results/stage_latency_cpu.csv') -> List[dict]:
    """Per-stage latency of plain models (e.g. candidate savers), timed in alternation.

    Each model (random weights: speed does not depend on them) answers the
    same raw batch through ``test_step`` (PyTorch eager, CPU) or through its
    exported graph (``'onnxruntime'``, preprocessing folded in) plus the same
    output packing; at each batch size the models are timed round by round in
    alternation (:func:`time_fns`), so machine drift affects them alike.

    Args:
        configs (Sequence[str]): mmpretrain model configs.
        batch_sizes (Sequence[int]): Batch sizes, each >= 1.
        backend (str): ``'pytorch'`` or ``'onnxruntime'``.
        warmup, repeats (int): Untimed and timed rounds.
        input_shape (Sequence[int], optional): ``C H W`` of random uint8
            images; by default the first config's test images.
        out (str): Stage latency CSV, merged (rows of other models, backends
            or batch sizes are kept).

    Returns:
        list[dict]: Rows of :data:`STAGE_LATENCY_COLUMNS`.

    Raises:
        ValueError: On no config, a bad batch size or an unknown backend.
    """
    import os.path as osp
    import shutil
    import tempfile

    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    from tinysaver_mm.models.classifiers import preprocess
    from tinysaver_mm.utils import measure_macs, model_cfg_of, stage_model_name
    from ..deploy import DEFAULT_OPSET, export_onnx
    from ..runner import load_cfg
    if not configs:
        raise ValueError('give at least one model config to time.')
    if backend not in ('pytorch', 'onnxruntime'):
        raise ValueError(f'backend={backend!r} is unknown; choose pytorch or onnxruntime.')
    for bs in batch_sizes:
        if int(bs) != bs or bs < 1:
            raise ValueError(f'batch size {bs!r} must be a whole number >= 1.')
    cfgs = [load_cfg(c) for c in configs]
    init_default_scope(cfgs[0].get('default_scope', 'mmpretrain'))
    n = max(batch_sizes)
    if input_shape:
        images = torch.randint(0, 256, (n, *input_shape), dtype=torch.uint8,
                               generator=torch.Generator().manual_seed(0))
    else:
        images = first_test_batch(cfgs[0], n)[0]
    tmp = tempfile.mkdtemp(prefix='tinysaver_stages_')
    fns, gmacs = {}, {}
    try:
        with torch.no_grad():
            for path, cfg in zip(configs, cfgs):
                name = stage_model_name(path)
                model = MODELS.build(model_cfg_of(cfg)).eval()
                gmacs[name] = measure_macs(model, preprocess(model, images[:1])) / 1e9
                if backend == 'pytorch':
                    fns[name] = model.test_step
                else:
                    from tinysaver_mm.models.backends import StageGraph
                    from tinysaver_mm.models.backends.onnx_stage import OnnxStage
                    onnx_path = osp.join(tmp, f'{name}.onnx')
                    export_onnx(StageGraph(model, name).eval(), images[:2].float(), onnx_path,
                                DEFAULT_OPSET, 'probs')
                    fns[name] = packed(OnnxStage(onnx_path, name))
            rows = []
            for bs in batch_sizes:
                data = {'inputs': images[:bs], 'data_samples': None}
                t = time_fns({k: (lambda f=f: f(data)) for k, f in fns.items()}, warmup,
                             repeats)
                for name, times in t.items():
                    ms = 1e3 * statistics.median(times) / bs
                    rows.append(dict(model=name, backend=backend, device='cpu',
                                     threads=torch.get_num_threads(), batch_size=bs,
                                     ms_per_img=ms, img_per_s=1e3 / ms, gmacs=gmacs[name],
                                     source='benchmark_stages'))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    merge_csv(rows, out, STAGE_LATENCY_COLUMNS, key=('model', 'backend', 'device', 'batch_size'))
    return rows

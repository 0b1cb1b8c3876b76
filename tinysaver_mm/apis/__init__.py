"""High-level entry points used by tools/."""
from .fashion_mnist_demo import run_fashion_mnist_demo
from .records import (check_aligned, load_records, model_stages,
                      predict_stages, record)
from .runner import (build_runner, check_dataset_cfg, check_nonempty,
                     finish_distributed, load_cfg, run_test, run_train)
from .select_saver import select_saver, zoo_prefilter

__all__ = [
    'build_runner', 'check_aligned', 'check_dataset_cfg', 'check_nonempty', 'finish_distributed', 'load_cfg',
    'load_records', 'model_stages', 'predict_stages', 'record',
    'run_fashion_mnist_demo', 'run_test', 'run_train', 'select_saver',
    'zoo_prefilter'
]

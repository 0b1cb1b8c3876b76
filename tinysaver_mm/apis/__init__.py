"""High-level entry points used by tools/."""
from .fashion_mnist_demo import run_fashion_mnist_demo
from .records import predict_stages
from .runner import build_runner, check_nonempty, load_cfg, run_test, run_train

__all__ = [
    'build_runner', 'check_nonempty', 'load_cfg', 'predict_stages',
    'run_fashion_mnist_demo', 'run_test', 'run_train'
]

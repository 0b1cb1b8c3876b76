"""``--cfg-options train_cfg.max_epochs=N`` stretches the schedule with it."""
import pytest

from tinysaver_mm.apis import load_cfg
from tinysaver_mm.apis.runner import follow_max_epochs

CFG = 'configs/fashion_mnist/resnet18-w4s2_fmnist.py'


def _built_schedulers(cfg, tmp_path):
    """The schedulers mmengine really builds from the config."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    init_default_scope('mmpretrain')
    runner = Runner.from_cfg(cfg)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    return runner.build_param_scheduler(runner.param_schedulers), len(runner.train_dataloader)


def test_cosine_end_follows_overridden_max_epochs(tmp_path):
    cfg = load_cfg(CFG, {'train_cfg.max_epochs': 30}, str(tmp_path))
    scheds, iters = _built_schedulers(cfg, tmp_path)
    cosine = [s for s in scheds if type(s).__name__ == 'CosineAnnealingLR']
    assert len(cosine) == 1
    assert cosine[0].end == 30 * iters  # converted to iterations by mmengine
    assert cosine[0].T_max == 29 * iters  # begins after the warm-up epoch
    warmup = [s for s in scheds if type(s).__name__ == 'LinearLR'][0]
    assert warmup.end == iters  # the 1-epoch warm-up is left alone


def test_unchanged_without_override_and_when_schedule_is_overridden(tmp_path):
    base = load_cfg(CFG, None, str(tmp_path))
    assert base.param_scheduler[1]['end'] == base.train_cfg.max_epochs == 6
    both = load_cfg(CFG, {'train_cfg.max_epochs': 30, 'param_scheduler.1.end': 12}, str(tmp_path))
    assert both.param_scheduler[1]['end'] == 12  # the user's own schedule wins


@pytest.mark.parametrize('sched, want', [
    (dict(type='CosineAnnealingLR', begin=0, end=12, T_max=12, by_epoch=True), dict(end=20, T_max=20)),
    (dict(type='CosineAnnealingLR', begin=2, end=12, by_epoch=True), dict(end=20)),
    (dict(type='LinearLR', begin=0, end=100, by_epoch=False), dict(end=100)),
    (dict(type='CosineAnnealingLR', begin=0, end=8, by_epoch=True), dict(end=8)),
])
def test_follow_max_epochs_rules(sched, want):
    from mmengine.config import Config
    cfg = Config(dict(train_cfg=dict(max_epochs=20), param_scheduler=[dict(sched)]))
    lines = follow_max_epochs(cfg, 12, {'train_cfg.max_epochs': 20})
    for k, v in want.items():
        assert cfg.param_scheduler[0][k] == v
    assert len(lines) == sum(sched.get(k) != v for k, v in want.items())


def test_max_epochs_before_a_scheduler_begins_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r'max_epochs=1 leaves no epoch for param_scheduler\[1\]'):
        load_cfg(CFG, {'train_cfg.max_epochs': 1}, str(tmp_path))

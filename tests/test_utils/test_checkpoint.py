"""Checkpoints load with weights_only=True: mmengine's types allowed, code refused."""
import os
import pickle

import numpy as np
import pytest
import torch

from tinysaver_mm.utils import load_checkpoint_file, publish_checkpoint


class Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_runner_style_checkpoint_loads(tmp_path):
    from mmengine.logging.history_buffer import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(np.float64(0.5))
    ckpt = {'meta': {'epoch': 3, 'iter': 10, 'seed': np.int64(0)},
            'state_dict': {'w': torch.ones(2)},
            'message_hub': {'log_scalars': {'loss': buf},
                            'runtime_info': {'arr': np.arange(3, dtype=np.float32)}}}
    path = str(tmp_path / 'epoch_3.pth')
    torch.save(ckpt, path)
    loaded = load_checkpoint_file(path)
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    assert loaded['message_hub']['log_scalars']['loss'].current() == 0.5
    out = str(tmp_path / 'pub' / 'w.pth')
    assert publish_checkpoint(path, out)['epoch'] == 3
    assert set(torch.load(out, weights_only=True)) == {'state_dict', 'meta'}


def test_publish_tool_in_a_fresh_process(tmp_path):
    """A fresh process has no HistoryBuffer yet (mmengine registers its
    statistics methods lazily); the Runner checkpoint must still load."""
    import subprocess
    import sys
    from mmengine.logging.history_buffer import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(1.0)
    src, dst = str(tmp_path / 'epoch_1.pth'), str(tmp_path / 'pub.pth')
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': {'epoch': 1},
                'message_hub': {'log_scalars': {'loss': buf}}}, src)
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
    proc = subprocess.run([sys.executable, 'tools/publish_checkpoint.py', src, dst],
                          cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert torch.equal(torch.load(dst, weights_only=True)['state_dict']['w'], torch.ones(1))


def test_checkpoint_that_would_run_code_is_refused(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'x': Evil()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint_file(path)


class Sneaky:
    """Uses getattr, as a Runner checkpoint does, but for something else."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return (getattr, (HistoryBuffer, 'update'))


def test_getattr_is_limited_to_history_buffer_methods(tmp_path):
    path = str(tmp_path / 'sneaky.pth')
    torch.save({'state_dict': {}, 'x': Sneaky()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint_file(path)


def test_no_global_opt_out():
    assert os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD') in (None, '0')


@pytest.mark.parametrize('content', [b'', b'not a checkpoint at all', b'PK\x03\x04truncated zip'])
def test_damaged_or_foreign_file_is_named_with_its_stage(tmp_path, content):
    path = tmp_path / 'bad.pth'
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"bad\.pth.*the saver's weights.*not a readable"):
        load_checkpoint_file(str(path), 'saver')


def test_truncated_real_checkpoint_and_non_dict(tmp_path):
    path = tmp_path / 'half.pth'
    torch.save(dict(state_dict={'w': torch.ones(1000)}), path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match='half.pth'):
        load_checkpoint_file(str(path), 'base')
    torch.save([1, 2], tmp_path / 'list.pth')
    with pytest.raises(ValueError, match='holds a list'):
        load_checkpoint_file(str(tmp_path / 'list.pth'))


def test_unsafe_checkpoint_message_names_file_and_gives_no_unsafe_advice(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'x': Evil()}, path)
    with pytest.raises(pickle.UnpicklingError) as info:
        load_checkpoint_file(path, 'saver')
    msg = str(info.value)
    assert 'evil.pth' in msg and 'saver' in msg and 'weights_only=False' not in msg

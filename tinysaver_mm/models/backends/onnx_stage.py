"""One exported stage run by ONNX Runtime on the rows routing gives it."""
from typing import List, Optional, Union

import numpy as np
import torch

__all__ = ['OnnxStage', 'import_onnxruntime']


def import_onnxruntime():
    """Import onnxruntime, or say how to install it.

    Raises:
        ImportError: If onnxruntime is not installed.
    """
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError("backend='onnxruntime' needs the package onnxruntime: "
                          'pip install -r requirements/deploy.txt (onnx, onnxruntime).'
                          ) from err
    return onnxruntime


class OnnxStage:
    """An ONNX Runtime session with one input (a batch) and one output.

    Args:
        path (str): The ``.onnx`` file (already checked against its manifest).
        name (str): What to call it in errors.
        num_threads (int, optional): ``intra_op_num_threads``; defaults to
            ``torch.get_num_threads()`` so both backends use the same cores.

    Raises:
        ImportError: If onnxruntime is not installed.
    """

    def __init__(self, path: str, name: str = 'stage', num_threads: Optional[int] = None):
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(num_threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        # a spinning pool keeps its cores busy after each run, slowing the next
        # session (the base after the saver) or PyTorch call in this process
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        self.session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        self.input_name = self.session.get_inputs()[0].name
        self.path, self.name = path, name

    def __call__(self, x: Union[torch.Tensor, List[torch.Tensor]]) -> torch.Tensor:
        """Run on a batch (a stacked tensor or a list of same-shape images).

        Returns:
            torch.Tensor: The (first) output (float32, on the inputs' device).
        """
        return self.run_all(x)[0]

    def run_all(self, x: Union[torch.Tensor, List[torch.Tensor]]) -> List[torch.Tensor]:
        """Every output of the graph on a batch, in the graph's order."""
        if not torch.is_tensor(x):
            x = torch.stack(list(x))
        device = x.device
        arr = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        return [torch.from_numpy(o).to(device)
                for o in self.session.run(None, {self.input_name: arr})]

"""What an image costs: MACs, or the measured latency of a per-stage table."""
from dataclasses import dataclass
from typing import Optional

from tinysaver_mm.core import StageLatency
from .benchmark.latency_table import load_stage_latency, record_model_name

__all__ = ['COSTS', 'CostModel']

#: what a cost can be measured in
COSTS = ('macs', 'latency')


@dataclass(frozen=True)
class CostModel:
    """How the cost of running a model on an image is measured.

    ``'macs'`` is the paper's cost (multiply-accumulates per image, from the
    records); ``'latency'`` is milliseconds per image at a deployment batch
    size, read from a per-stage latency table that ``tools/benchmark.py``
    writes, for one backend and device. With ``kind='macs'`` a latency table
    is optional: the tools then report milliseconds beside the MACs.

    Attributes:
        kind (str): ``'macs'`` or ``'latency'`` (what ranks or is budgeted).
        latency_table (str, optional): A per-stage latency CSV
            (``results/stage_latency_<device>.csv``); needed by ``'latency'``.
        batch_size (int): The deployment batch size whose times count.
        backend (str): The backend whose times count (``'pytorch'``,
            ``'onnxruntime'``).
        device (str): The device whose times count (e.g. ``'cpu'``).

    Raises:
        ValueError: On an unknown kind, ``'latency'`` without a table, or a
            batch size that is not a whole number >= 1.
    """
    kind: str = 'macs'
    latency_table: Optional[str] = None
    batch_size: int = 32
    backend: str = 'pytorch'
    device: str = 'cpu'

    def __post_init__(self) -> None:
        if self.kind not in COSTS:
            raise ValueError(f'cost={self.kind!r} is unknown; choose one of {COSTS}.')
        if self.kind == 'latency' and self.latency_table is None:
            raise ValueError("cost='latency' needs a latency table (--latency-table, written by "
                             'tools/benchmark.py).')
        if isinstance(self.batch_size, bool) or int(self.batch_size) != self.batch_size or \
                self.batch_size < 1:
            raise ValueError(f'batch_size={self.batch_size!r} must be a whole number >= 1.')

    @property
    def has_latency(self) -> bool:
        """Whether measured times are available (a latency table is given)."""
        return self.latency_table is not None

    def stage_latency(self, meta: dict, records: str) -> StageLatency:
        """The measured times of the model a record file is of.

        Args:
            meta (dict): The records' metadata (its ``model`` names the row).
            records (str): The record file (named in errors).

        Returns:
            StageLatency: Its times on :attr:`backend` and :attr:`device`, by batch size.

        Raises:
            ValueError: Without a latency table, for records that do not name
                their model, or a table without that model's times.
        """
        if self.latency_table is None:
            raise ValueError('this cost model has no latency table (--latency-table).')
        return load_stage_latency(self.latency_table, record_model_name(meta, records),
                                  self.backend, self.device)

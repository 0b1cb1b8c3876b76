"""Output files of the tools: never overwrite one unless asked, never write onto an input."""
import os.path as osp
from typing import Iterable, Optional, Sequence

__all__ = ['OutputExistsError', 'check_outputs']


class OutputExistsError(FileExistsError):
    """An output file exists already and overwriting was not asked for."""


def _same_file(a: str, b: str) -> bool:
    if osp.exists(a) and osp.exists(b):
        return osp.samefile(a, b)
    return osp.realpath(a) == osp.realpath(b)


def check_outputs(outputs: Iterable[Optional[str]], overwrite: bool = False,
                  inputs: Sequence[Optional[str]] = (), flag: str = '--overwrite') -> None:
    """Refuse to write where a tool would lose something a user has.

    Call it before any work is done, with every file the tool will write.

    Args:
        outputs (Iterable[str | None]): Files the tool will write (None skipped).
        overwrite (bool): Whether existing outputs may be replaced.
        inputs (Sequence[str | None]): Files the tool reads; an output is
            never one of them, even with ``overwrite``.
        flag (str): How the user asks to overwrite, for the message.

    Raises:
        ValueError: If an output is one of the inputs.
        OutputExistsError: If an output exists and ``overwrite`` is False.
    """
    outputs = [o for o in outputs if o]
    for out in outputs:
        for src in (i for i in inputs if i):
            if _same_file(out, src):
                raise ValueError(f'The output {out!r} is the input {src!r}: a tool never writes '
                                 'onto its own input. Give another output path.')
    if overwrite:
        return
    existing = [o for o in outputs if osp.lexists(o)]
    if existing:
        raise OutputExistsError(
            f'{len(existing)} output file(s) exist already: {existing[:3]}'
            f'{" ..." if len(existing) > 3 else ""}. Nothing was written. Give another output '
            f'path, or {flag} to replace them.')


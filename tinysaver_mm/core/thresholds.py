"""Exit thresholds of a cascade: numbers, lists, or a calibration JSON file."""
import json
import os.path as osp
from typing import List, Optional, Sequence, Union

from .routing import check_threshold

__all__ = ['ThresholdSpec', 'read_threshold_file', 'resolve_thresholds']

ThresholdSpec = Union[float, str, Sequence[float]]


def read_threshold_file(path: str, exit_rule: Optional[str] = None) -> Union[float, List[float]]:
    """The calibrated threshold(s) stored in a calibration JSON.

    ``tools/calibrate.py`` writes ``threshold`` (and the ``rule`` whose
    confidence it was fitted on); a multi-stage search writes ``thresholds``.

    Args:
        path (str): The JSON file.
        exit_rule (str, optional): The cascade's exit rule; a file fitted on
            another rule's confidence is refused.

    Returns:
        float | list[float]: The stored value(s).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not JSON, holds no threshold, or was fitted for
            another exit rule.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'threshold={path!r}: no such calibration file. Give a number in [0, 1] '
            'or the JSON written by tools/calibrate.py --out.')
    try:
        with open(path) as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f'threshold={path!r} is not a calibration JSON ({err}); give the '
                         'file written by tools/calibrate.py --out.') from None
    if not isinstance(data, dict) or not ({'threshold', 'thresholds'} & set(data)):
        raise ValueError(f'threshold={path!r} holds no "threshold" (or "thresholds") key; '
                         'give the file written by tools/calibrate.py --out.')
    rule = data.get('rule')
    if exit_rule is not None and rule is not None and rule != exit_rule:
        raise ValueError(
            f'threshold={path!r} was calibrated on the {rule!r} confidence but the '
            f'cascade exits by {exit_rule!r}; set exit_rule={rule!r} or calibrate '
            f'again with --rule {exit_rule}.')
    return data['thresholds'] if 'thresholds' in data else data['threshold']


def resolve_thresholds(value: ThresholdSpec, count: int,
                       stage_names: Optional[Sequence[str]] = None,
                       exit_rule: Optional[str] = None,
                       allow_off: bool = False) -> List[float]:
    """Validate a cascade's exit thresholds, one per stage but the last.

    Args:
        value (float | str | Sequence[float]): A number, a list of numbers,
            or the path of a calibration JSON (see :func:`read_threshold_file`).
        count (int): How many thresholds the cascade needs.
        stage_names (Sequence[str], optional): For the error message.
        exit_rule (str, optional): Checked against a calibration file's rule.
        allow_off (bool): Whether a value above 1 (that exit off) is accepted.

    Returns:
        list[float]: ``count`` thresholds in [0, 1].

    Raises:
        ValueError: On a value outside [0, 1], not a number, or the wrong count.
    """
    given = value
    if isinstance(value, str):
        value = read_threshold_file(value, exit_rule)
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(values) != count:
        where = f'this cascade {tuple(stage_names)}' if stage_names else 'this cascade'
        raise ValueError(f'threshold={given!r}: {where} needs {count} threshold(s), '
                         'one per exit but the last (the base answers what is left).')
    return [check_threshold(v, allow_off=allow_off) for v in values]

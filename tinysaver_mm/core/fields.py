"""The cascade fields every TinySaver prediction carries (one contract, every task).

Each cascade (classification, detection, ...) writes these into the
metainfo of every data sample it returns, besides the task's own prediction
(``pred_score``/``pred_label``, ``pred_instances``, ...). The
``TinySaverMetric`` and the records read exactly these names.

=====================  =========================================================
field                  meaning
=====================  =========================================================
``exited``             bool: answered by the first stage (the saver)
``answered_by``        name of the stage whose answer is final
``exit_score``         the saver's exit score for this image (NaN never exits)
``macs``               MACs this image really cost (every part it went through)
``cascade_stages``     stage names in order, saver first, base last
``cascade_overheads``  parts every image pays for besides the saver (e.g. an
                       evaluator head); empty when there are none
``macs_<part>``        MACs per image of each stage and overhead part alone
=====================  =========================================================
"""
from typing import Dict, Sequence

__all__ = ['CASCADE_FIELDS', 'cascade_fields', 'cascade_field_names']

CASCADE_FIELDS = ('exited', 'answered_by', 'exit_score', 'macs', 'cascade_stages',
                  'cascade_overheads')


def cascade_field_names(stages: Sequence[str], overheads: Sequence[str] = ()) -> set:
    """Every metainfo name a cascade of these parts writes.

    Args:
        stages (Sequence[str]): Stage names, saver first.
        overheads (Sequence[str]): Parts every image pays for.

    Returns:
        set[str]: :data:`CASCADE_FIELDS` plus ``macs_<part>`` per part.
    """
    return set(CASCADE_FIELDS) | {f'macs_{p}' for p in tuple(stages) + tuple(overheads)}


def cascade_fields(stages: Sequence[str], stage: int, exit_score: float,
                   part_macs: Dict[str, float], overheads: Sequence[str] = ()) -> dict:
    """The cascade fields of one image.

    Args:
        stages (Sequence[str]): Stage names, saver first.
        stage (int): Index of the stage that answered the image.
        exit_score (float): The saver's exit score for the image.
        part_macs (dict[str, float]): MACs per image of every stage and
            overhead part alone.
        overheads (Sequence[str]): Parts every image pays for.

    Returns:
        dict: The fields (see the module docstring).
    """
    spent = sum(part_macs[s] for s in stages[:stage + 1]) + sum(part_macs[p] for p in overheads)
    fields = dict(exited=stage == 0, answered_by=stages[stage], exit_score=exit_score,
                  macs=float(spent), cascade_stages=tuple(stages),
                  cascade_overheads=tuple(overheads))
    fields.update({f'macs_{p}': float(m) for p, m in part_macs.items()})
    return fields

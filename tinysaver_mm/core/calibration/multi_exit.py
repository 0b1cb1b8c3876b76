"""Thresholds of a cascade with many exits (an ESN's, or k stages) from records.

A joint grid over every exit is exponential in the number of exits (41
candidates for 4 exits: 2.8 million evaluations), so the point estimate and
the budget search are a coordinate descent: start at the best threshold
vector on the *uniform path* (every exit the same threshold), then change one
exit's threshold at a time to the best of its candidates while the others
stay, sweep after sweep; when no single change helps, change two exits at
once on a coarse sub-grid, until neither helps. Each result is a vector the
records were evaluated at (:func:`evaluate_cascade`), never worse than the
uniform path's best; it is a local optimum, not always the global one (the
tests compare it with the exhaustive grid on small cascades: within 1%).

The guarantee tests a fixed one-parameter path instead: ``lambda`` from 1
down a data-independent grid, every exit at threshold ``lambda``. As for the
single threshold (:class:`GuaranteedDropCalibrator`), fixed-sequence testing
(Learn then Test) of "the drop at ``lambda`` exceeds ``max_drop``" with a
Clopper-Pearson bound on the loss and gain shares keeps the family-wise error
at ``delta``: with probability >= 1 - delta over the records, every accepted
``lambda`` (the chosen, lowest one included) has an expected top-1 drop vs
the last exit of at most ``max_drop`` on new data from the same distribution.
"""
import itertools
from typing import List, Optional, Sequence

import numpy as np

from .base import _TOL, BaseCalibrator, _int_at_least, _open_unit, _positive
from .guaranteed_drop import InfeasibleTargetError, _drop_ucb, records_needed
from .multistage_drop import answering_stage, evaluate_cascade

__all__ = ['EXIT_OFF', 'MultiExitDropCalibrator', 'MultiExitMacsBudgetCalibrator',
           'MultiExitGuaranteedDropCalibrator', 'uniform_path']

#: a threshold above every confidence: the exit answers nothing (ESN exits may be off)
EXIT_OFF = 1.01


def _check_records(confidences, corrects, macs) -> int:
    """Number of exits, refusing inconsistent or too-short records."""
    k = len(corrects)
    if k < 2 or len(confidences) != k or len(macs) != k:
        raise ValueError(f'A multi-exit search needs records of 2 or more exits, with one '
                         f'confidence, correctness and MACs each; got {len(confidences)}, '
                         f'{k}, {len(macs)}.')
    n = len(corrects[0])
    if n == 0 or any(len(c) != n for c in list(confidences) + list(corrects)):
        raise ValueError('Every exit\'s records must hold the same, non-zero number of '
                         'samples.')
    return k


def uniform_path(confidences: Sequence[np.ndarray], corrects: Sequence[np.ndarray],
                 macs: Sequence[float], lambdas: Sequence[float]) -> List[dict]:
    """The cascade on records with every exit at one threshold, for each ``lambda``.

    Returns:
        list[dict]: :func:`evaluate_cascade` at ``[lambda] * (exits - 1)``, in order.
    """
    k = len(corrects)
    return [evaluate_cascade(confidences, corrects, macs, [float(lam)] * (k - 1))
            for lam in lambdas]


class _CoordinateSearch(BaseCalibrator):
    """Coordinate descent over per-exit thresholds (see the module docstring).

    Subclasses say which results are feasible and which of two is better.

    Args:
        grid (int): Quantiles of each exit's confidence among the candidate
            thresholds (see :meth:`candidates`).
        allow_off (bool): Whether an exit may be turned off (ESN exits).
        max_sweeps (int): Most coordinate sweeps.

    Attributes:
        thresholds_ (list[float]): One per exit but the last.
        accuracy_ (float): Top-1 at ``thresholds_`` on the records.
        macs_ (float): Mean MACs per image there.
        shares_ (list[float]): Share of samples each exit answers there.
        reference_accuracy_ (float): The last exit's top-1 on the records.
        uniform_ (dict): The uniform path's best (``threshold``, ``accuracy``,
            ``macs``), where the descent started.
        sweeps_ (int): Sweeps run.
    """

    #: points of the coarse grid of the pair moves
    pair_grid = 21

    def __init__(self, grid: int = 101, allow_off: bool = False, max_sweeps: int = 20):
        self.grid = _int_at_least(grid, 'grid', 2, ' (candidate thresholds per exit)')
        self.allow_off = bool(allow_off)
        self.max_sweeps = _int_at_least(max_sweeps, 'max_sweeps', 1)

    def _feasible(self, r: dict) -> bool:
        raise NotImplementedError

    def _better(self, r: dict, best: dict) -> bool:
        raise NotImplementedError

    def _infeasible(self, r: dict) -> str:
        raise NotImplementedError

    def candidates(self, confidences: Sequence[np.ndarray]) -> np.ndarray:
        """The thresholds every exit may take: ``grid`` quantiles of each exit's
        confidence (all exits' together, so the uniform path lies in the
        search space), 1.0, and :data:`EXIT_OFF` with ``allow_off``."""
        extra = [1.0] + ([EXIT_OFF] if self.allow_off else [])
        qs = [np.quantile(np.asarray(c, dtype=np.float64), np.linspace(0, 1, self.grid))
              for c in confidences[:-1]]
        return np.unique(np.concatenate(qs + [np.asarray(extra)]))

    def fit(self, confidences: Sequence[np.ndarray], corrects: Sequence[np.ndarray],
            macs: Sequence[float]) -> '_CoordinateSearch':
        """Search the thresholds on records of every exit.

        Args:
            confidences, corrects, macs: As in :func:`evaluate_cascade`
                (``macs``: what each exit adds to the ones before it).

        Returns:
            The calibrator itself.

        Raises:
            ValueError: On inconsistent records, or if no vector meets the
                target.
        """
        k = _check_records(confidences, corrects, macs)
        self.reference_accuracy_ = float(np.mean(corrects[-1]))
        shared = self.candidates(confidences)
        cands: List[np.ndarray] = [shared] * (k - 1)

        def run(ts):
            return dict(evaluate_cascade(confidences, corrects, macs, ts),
                        thresholds=[float(t) for t in ts])

        best: Optional[dict] = None
        for lam, r in zip(shared, uniform_path(confidences, corrects, macs, shared)):
            r = dict(r, thresholds=[float(lam)] * (k - 1))
            if self._feasible(r) and (best is None or self._better(r, best)):
                best = r
        if best is None:
            raise ValueError(self._infeasible(run([cands[0][-1]] * (k - 1))))
        self.uniform_ = dict(threshold=best['thresholds'][0], accuracy=best['accuracy'],
                             macs=best['macs'])
        # pair moves on a coarse grid get the descent out of corners where one
        # threshold alone cannot move without breaking the target
        coarse = shared[np.unique(np.linspace(0, len(shared) - 1, self.pair_grid).round()
                                  .astype(int))]
        self.sweeps_ = 0
        for _ in range(self.max_sweeps):
            self.sweeps_ += 1
            changed = False
            for i in range(k - 1):
                for t in cands[i]:
                    ts = list(best['thresholds'])
                    ts[i] = float(t)
                    r = run(ts)
                    if self._feasible(r) and self._better(r, best):
                        best, changed = r, True
            if changed:
                continue
            for i, j in itertools.combinations(range(k - 1), 2):
                for ti, tj in itertools.product(coarse, coarse):
                    ts = list(best['thresholds'])
                    ts[i], ts[j] = float(ti), float(tj)
                    r = run(ts)
                    if self._feasible(r) and self._better(r, best):
                        best, changed = r, True
            if not changed:
                break
        self.thresholds_ = best['thresholds']
        self.accuracy_ = best['accuracy']
        self.macs_ = best['macs']
        self.shares_ = best['shares']
        return self


class MultiExitDropCalibrator(_CoordinateSearch):
    """Fewest mean MACs with a top-1 drop vs the last exit of at most ``max_drop``.

    Args:
        max_drop (float): Allowed top-1 drop vs the last exit, in (0, 1).
        grid, allow_off, max_sweeps: See :class:`_CoordinateSearch`.

    Raises:
        ValueError: If ``max_drop`` is outside (0, 1) or ``grid`` < 2.
    """

    def __init__(self, max_drop: float, grid: int = 101, allow_off: bool = False,
                 max_sweeps: int = 20):
        super().__init__(grid, allow_off, max_sweeps)
        self.max_drop = _open_unit(max_drop, 'max_drop')

    def _feasible(self, r):
        return r['accuracy'] >= self.reference_accuracy_ - self.max_drop - _TOL

    def _better(self, r, best):
        return r['macs'] < best['macs'] - _TOL or (
            abs(r['macs'] - best['macs']) <= _TOL and r['accuracy'] > best['accuracy'] + _TOL)

    def _infeasible(self, r):
        return (f'No thresholds keep the top-1 drop within max_drop={self.max_drop}: even '
                f'the strictest uniform ones give {r["accuracy"]:.4f} vs the last exit\'s '
                f'{self.reference_accuracy_:.4f} (shares {r["shares"]}): earlier exits '
                'saturate on samples they get wrong. Allow a larger max_drop'
                + ('.' if self.allow_off else ', or let exits be turned off (allow_off).'))


class MultiExitMacsBudgetCalibrator(_CoordinateSearch):
    """Best top-1 with mean MACs per image at most ``max_macs``.

    Args:
        max_macs (float): The budget, in the unit of the records' ``macs``.
        grid, allow_off, max_sweeps: See :class:`_CoordinateSearch`.

    Raises:
        ValueError: If ``max_macs`` is not positive or ``grid`` < 2.
    """

    def __init__(self, max_macs: float, grid: int = 101, allow_off: bool = False,
                 max_sweeps: int = 20):
        super().__init__(grid, allow_off, max_sweeps)
        self.max_macs = _positive(max_macs, 'max_macs')

    def _feasible(self, r):
        return r['macs'] <= self.max_macs + _TOL

    def _better(self, r, best):
        return r['accuracy'] > best['accuracy'] + _TOL or (
            abs(r['accuracy'] - best['accuracy']) <= _TOL and r['macs'] < best['macs'] - _TOL)

    def _infeasible(self, r):
        return (f'max_macs={self.max_macs:.6g} is below what the first exit alone costs per '
                'image; no thresholds meet it. Give a larger budget.')


class MultiExitGuaranteedDropCalibrator(BaseCalibrator):
    """Lowest ``lambda`` on the uniform path whose drop is certified <= max_drop.

    See the module docstring: ``lambda`` runs down the fixed grid
    ``1, 1 - 1/(grid-1), ..., 0`` (every exit at threshold ``lambda``), each
    tested in sequence; testing stops at the first ``lambda`` whose
    Clopper-Pearson bound on the drop exceeds ``max_drop``.

    Args:
        max_drop (float): Largest allowed expected top-1 drop, in (0, 1).
        delta (float): Allowed failure probability, in (0, 1).
        grid (int): Points of the path (>= 2). Defaults to 1001.

    Attributes:
        threshold_ (float): The chosen ``lambda``.
        thresholds_ (list[float]): ``[threshold_] * (exits - 1)``.
        accuracy_, macs_, shares_, reference_accuracy_: At ``thresholds_`` on
            the records, as :class:`MultiExitDropCalibrator`.
        drop_ucb_ (float): The bound on the drop at ``threshold_``.

    Raises:
        ValueError: If max_drop or delta is outside (0, 1) (at construction).
        InfeasibleTargetError: (a ValueError) in ``fit``, if even
            ``lambda = 1`` cannot be certified with these records.
    """

    def __init__(self, max_drop: float = 0.01, delta: float = 0.1, grid: int = 1001):
        self.max_drop = _open_unit(max_drop, 'max_drop')
        self.delta = _open_unit(delta, 'delta')
        self.grid = _int_at_least(grid, 'grid', 2, ' (points of the path)')

    def fit(self, confidences: Sequence[np.ndarray], corrects: Sequence[np.ndarray],
            macs: Sequence[float]) -> 'MultiExitGuaranteedDropCalibrator':
        """Test the path in sequence on records of every exit.

        Returns:
            The calibrator itself.
        """
        k = _check_records(confidences, corrects, macs)
        right = np.stack([np.asarray(c, dtype=bool) for c in corrects])
        n = right.shape[1]
        last = right[-1]
        accepted = None
        for lam in np.linspace(1.0, 0.0, self.grid):
            who = answering_stage(confidences, [lam] * (k - 1), n)
            got = right[who, np.arange(n)]
            ucb = float(_drop_ucb(np.array([np.sum(~got & last)]),
                                  np.array([np.sum(got & ~last)]), n, self.delta)[0])
            if ucb > self.max_drop:
                break
            accepted = (float(lam), ucb)
        if accepted is None:
            raise InfeasibleTargetError(
                f'The target is infeasible with these records: with max_drop={self.max_drop}, '
                f'delta={self.delta} and n={n}, even lambda=1 (every exit at threshold 1) '
                f'has a drop bound above max_drop. Certifying anything needs at least '
                f'{records_needed(self.max_drop, self.delta)} records: collect more or allow '
                'a larger max_drop or delta.')
        self.threshold_, self.drop_ucb_ = accepted
        self.thresholds_ = [self.threshold_] * (k - 1)
        r = evaluate_cascade(confidences, corrects, macs, self.thresholds_)
        self.accuracy_, self.macs_, self.shares_ = r['accuracy'], r['macs'], r['shares']
        self.reference_accuracy_ = float(last.mean())
        return self

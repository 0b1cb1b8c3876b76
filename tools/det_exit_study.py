"""Compare detection exit policies (signals x targets x fitting records) on val records.

Every policy's threshold is fitted on the holdout's calibration half (the honest
figure on val) and also tuned on val (an upper bound); see
tinysaver_mm/apis/studies/det_exit_study.py. Run by tools/det_exit_study.sh.
"""
import argparse
import json

from tinysaver_mm.apis import STUDY_POLICIES, det_exit_study, study_table


def main():
    p = argparse.ArgumentParser(description='Compare detection exit policies')
    p.add_argument('--holdout', required=True, help='holdout records (fit + calibrate)')
    p.add_argument('--val', required=True, help='val records (reported)')
    p.add_argument('--train', help='training-split records added to the fitting data')
    p.add_argument('--flip-holdout', help="the saver's records on the flipped holdout images")
    p.add_argument('--flip-val', help="the saver's records on the flipped val images")
    p.add_argument('--shipped', help="the shipped evaluator checkpoint (today's head)")
    p.add_argument('--out', required=True, help='summary JSON (a PNG is written beside it)')
    p.add_argument('--max-drops', type=float, nargs='+', default=[0.005, 0.01])
    p.add_argument('--oric-context', type=int, default=99)
    p.add_argument('--oric-draws', type=int, default=2)
    p.add_argument('--oric-cache', help='folder keeping each part\'s ORIC for reuse')
    p.add_argument('--policies', nargs='+', choices=sorted(STUDY_POLICIES))
    p.add_argument('--extend', action='store_true',
                   help='add the study to --out, an existing train_evaluator.py summary of the '
                   'same holdout records (needs --overwrite)')
    p.add_argument('--overwrite', action='store_true')
    a = p.parse_args()
    s = det_exit_study(a.holdout, a.val, a.out, a.train, a.flip_holdout, a.flip_val, a.shipped,
                       a.max_drops, oric_context=a.oric_context, oric_draws=a.oric_draws,
                       policies=a.policies, overwrite=a.overwrite,
                       oric_cache=a.oric_cache, extend=a.extend)
    print(json.dumps(s['signal'], indent=1))
    print(study_table(s))
    print('written:', a.out)


if __name__ == '__main__':
    main()

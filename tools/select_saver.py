"""Choose a saver for a base: rank candidates by delta C_tr, or shortlist from the zoo.

Examples:
    python tools/select_saver.py --base-train BASE_train_aug.npz \
        --savers-train A_train_aug.npz B_train_aug.npz C_train_aug.npz \
        --base-test BASE_test.npz --savers-test A_test.npz B_test.npz C_test.npz
    python tools/select_saver.py ... --cost latency --latency-table results/stage_latency_cpu.csv \
        --batch-size 32 --backend onnxruntime
    python tools/select_saver.py --zoo-base mmpretrain::resnet/resnet50_8xb32_in1k.py --top 10
"""
import argparse
import math

from tinysaver_mm.apis import CostModel, select_saver, zoo_prefilter


def _num(v, fmt):
    return '-' if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


def main():
    p = argparse.ArgumentParser(description='Select a TinySaver saver for a base model')
    p.add_argument('--base-train', help='base records of the training split (.npz)')
    p.add_argument('--savers-train', nargs='+', help='candidate savers, training records')
    p.add_argument('--base-test', help='base records of the test split (validation)')
    p.add_argument('--savers-test', nargs='+', help='the same savers, test records')
    p.add_argument('--max-drop', type=float, default=0.005,
                   help='top-1 drop at the operating points (fraction, 0.005 = 0.5 pt)')
    p.add_argument('--rule', default='max_prob', help='exit rule of the records')
    p.add_argument('--cost', default='macs', choices=['macs', 'latency'],
                   help='c = saver/base MACs (the paper) or measured ms per image')
    p.add_argument('--latency-table', help='per-stage latency CSV of tools/benchmark.py '
                   '(needed by --cost latency; with --cost macs: both rankings shown)')
    p.add_argument('--batch-size', type=int, default=32, help='deployment batch size (latency)')
    p.add_argument('--backend', default='pytorch', choices=['pytorch', 'onnxruntime'])
    p.add_argument('--device', default='cpu')
    p.add_argument('--out', default='results/selection.csv')
    p.add_argument('--overwrite', action='store_true',
                   help='replace --out (and its .png) when they exist')
    p.add_argument('--zoo-base', help='instead: shortlist mmpretrain ImageNet models for '
                   "this base (config such as 'mmpretrain::resnet/resnet50_8xb32_in1k.py' "
                   'or a metafile model name), no records needed')
    p.add_argument('--zoo-candidates', nargs='+', help='with --zoo-base: configs/names to '
                   'compare (default: every cheaper ImageNet-1k model)')
    p.add_argument('--top', type=int, default=10, help='with --zoo-base: rows to show')
    a = p.parse_args()
    if a.zoo_base:
        rows = zoo_prefilter(a.zoo_base, a.zoo_candidates, a.top)
        print(f'ESTIMATE from published metafile accuracy/FLOPs, not ΔC_tr (base '
              f'{a.zoo_base}); record the shortlist and rank it with --base-train')
        print(f'{"name":<52}{"GFLOPs":>9}{"top-1 %":>9}{"c":>8}{"est ΔC_tr":>11}')
        for r in rows:
            print(f'{r["name"]:<52}{r["gflops"]:>9.3f}{r["top1"]:>9.2f}{r["c"]:>8.3f}'
                  f'{r["est_delta_ctr"]:>11.3f}')
        return
    if not (a.base_train and a.savers_train):
        p.error('give --base-train and --savers-train (or --zoo-base)')
    try:
        cost = CostModel(a.cost, a.latency_table, a.batch_size, a.backend, a.device)
        r = select_saver(a.base_train, a.savers_train, base_test=a.base_test,
                         saver_test=a.savers_test, max_drop=a.max_drop, rule=a.rule, out=a.out,
                         overwrite=a.overwrite, cost=cost)
    except ValueError as e:
        raise SystemExit(f'select_saver: {e}')
    print(f'{"saver":<40}{"GMACs":>10}{"ΔC_tr":>9}{"test MACs saved %":>19}{"ms/img":>9}'
          f'{"ΔC_tr(ms)":>11}{"test ms saved %":>17}{"rank MACs":>11}{"rank ms":>9}')
    for row in r['rows']:
        print(f'{row["saver"]:<40}{row["gmacs_saver"]:>10.4g}{row["delta_ctr"]:>9.4f}'
              f'{_num(row["test_macs_saved_pct"], ".2f"):>19}'
              f'{_num(row["ms_per_img_saver"], ".4g"):>9}{_num(row["delta_ctr_latency"], ".4f"):>11}'
              f'{_num(row["test_ms_saved_pct"], ".2f"):>17}{_num(row["rank_macs"], "d"):>11}'
              f'{_num(row["rank_latency"], "d"):>9}')
    if r['choice_latency'] is not None:
        same = 'the same' if r['choice_macs'] == r['choice_latency'] else 'they DIFFER'
        print(f'MACs-ranked choice: {r["choice_macs"]}; latency-ranked choice (batch '
              f'{a.batch_size}, {a.backend}, {a.device}): {r["choice_latency"]} ({same})')
    if r['spearman_rho'] is None:
        print('Spearman rho: - (needs test records of >= 3 candidates)')
    else:
        print(f'Spearman rho(ΔC_tr, test {"ms" if a.cost == "latency" else "MACs"} saved) = '
              f'{r["spearman_rho"]:+.3f} '
              f'(p = {r["spearman_p"]:.3g}; strongly negative = good ranking)')
    print(f'written: {r["csv"]} and {r["png"]}')


if __name__ == '__main__':
    main()

"""The demo's last word: one table of the three embedded cascades, from their results files.

Example:
    python tools/demo_summary.py --out results/demo_summary.json --overwrite
"""
import argparse
import sys

from tinysaver_mm.apis import demo_summary, format_demo_summary
from tinysaver_mm.utils import check_outputs
from tinysaver_mm.utils.report import write_json


def main():
    p = argparse.ArgumentParser(description='Summarise the embedded demos (run_demo.sh)')
    p.add_argument('--out', default='results/demo_summary.json', help='the summary as JSON')
    p.add_argument('--overwrite', action='store_true', help='replace --out when it exists')
    a = p.parse_args()
    try:
        check_outputs([a.out], a.overwrite)
        summary = demo_summary()
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f'demo_summary: {e}')
    write_json(summary, a.out, indent=2)
    print(format_demo_summary(summary))
    print(f'summary: {a.out}')


if __name__ == '__main__':
    main()

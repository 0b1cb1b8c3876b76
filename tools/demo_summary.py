"""The demo's last word: one table of the three embedded cascades, from their results files.

Example:
    python tools/demo_summary.py --out results/demo_summary.json --overwrite
"""
import argparse
import sys

from tinysaver_mm.apis import format_demo_summary, write_demo_summary


def main():
    p = argparse.ArgumentParser(description='Summarise the embedded demos (run_demo.sh)')
    p.add_argument('--out', default='results/demo_summary.json', help='the summary as JSON')
    p.add_argument('--overwrite', action='store_true', help='replace --out when it exists')
    a = p.parse_args()
    try:
        summary = write_demo_summary(a.out, a.overwrite)
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f'demo_summary: {e}')
    print(format_demo_summary(summary))
    print(f'summary: {a.out}')


if __name__ == '__main__':
    main()

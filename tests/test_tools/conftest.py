"""The host-tool tests share ``host_entry_helpers`` (a plain module beside them).

pytest imports test files with ``--import-mode=importlib`` (the mirrored layout
has test files of the same name in different folders), which puts no test folder
on ``sys.path``; this folder goes there so its helper module imports by name.
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

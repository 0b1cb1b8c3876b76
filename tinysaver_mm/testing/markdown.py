"""Markdown reading for the documentation tests: tables, figures, links and anchors."""
import re
from typing import Dict, List, Optional, Tuple

__all__ = ['tables', 'figure', 'links', 'anchors', 'github_anchor']

_LINK = re.compile(r'(?<!!)\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
_NUMBER = re.compile(r'^[+\-−]?\d[\d,]*(?:\.(\d+))?$')


def _strip_code(text: str) -> str:
    """The text with fenced code blocks blanked (their lines kept, empty)."""
    out, fence = [], False
    for line in text.split('\n'):
        if line.lstrip().startswith('```'):
            fence = not fence
            out.append('')
            continue
        out.append('' if fence else line)
    return '\n'.join(out)


def _plain(cell: str) -> str:
    """A cell's text without links, bold, code marks and footnote marks."""
    cell = _LINK.sub(r'\1', cell)
    return cell.replace('**', '').replace('`', '').strip()


def tables(text: str) -> List[Dict]:
    """Every pipe table of a markdown text.

    Returns:
        list: Per table ``dict(line=first line number, header=[...],
        rows=[[cell, ...], ...])`` with the cells' plain text.
    """
    lines = _strip_code(text).split('\n')
    found, i = [], 0
    while i < len(lines) - 1:
        if lines[i].startswith('|') and re.match(r'^\|(\s*:?-{3,}:?\s*\|)+\s*$', lines[i + 1]):
            header = [_plain(c) for c in lines[i].strip().strip('|').split('|')]
            rows, j = [], i + 2
            while j < len(lines) and lines[j].startswith('|'):
                rows.append([_plain(c) for c in lines[j].strip().strip('|').split('|')])
                j += 1
            found.append(dict(line=i + 1, header=header, rows=rows))
            i = j
        else:
            i += 1
    return found


def figure(cell: str) -> Optional[Tuple[float, int]]:
    """A cell holding one number (optionally with %): ``(value, decimals)``, else None."""
    text = cell.replace('%', '').replace('\u2212', '-').strip()
    m = _NUMBER.match(text)
    if not m:
        return None
    return float(text.replace(',', '')), len(m.group(1) or '')


def links(text: str) -> List[Tuple[int, str]]:
    """``(line number, target)`` of every markdown link outside code."""
    return [(n + 1, m.group(2)) for n, line in enumerate(_strip_code(text).split('\n'))
            for m in _LINK.finditer(line)]


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    text = _plain(heading).lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(text: str) -> set:
    """The anchors of a markdown text's headings (repeats numbered as GitHub does)."""
    seen: Dict[str, int] = {}
    out = set()
    for line in _strip_code(text).split('\n'):
        m = re.match(r'^#{1,6}\s+(.*?)\s*#*\s*$', line)
        if not m:
            continue
        a = github_anchor(m.group(1))
        out.add(a if a not in seen else f'{a}-{seen[a]}')
        seen[a] = seen.get(a, 0) + 1
    return out

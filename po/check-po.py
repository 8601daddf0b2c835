#!/usr/bin/env python3
"""Keeps the translations valid. TAP output.

Usage: check-po.py PO-DIR XGETTEXT-ARG...

Extracts a fresh template from the sources listed in POTFILES.in (with the arguments
po/meson.build gives tessera-pot), then checks that POTFILES.in misses no source file with
translatable strings, and that each po file in LINGUAS passes `msgfmt --check` (formats,
header, mnemonics) and translates every message of the fresh template, none fuzzy. A
failure names the messages.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import Tap  # noqa: E402

PACKAGE = 'tessera'
# Where user-visible strings live; tests/ and tools/ are for developers.
SCANNED_DIRS = ('app', 'compute', 'data', 'ui')
C_MARKER = re.compile(r'\b(?:N?C?_|g_dgettext|g_dcgettext|g_dngettext|g_dpgettext2|ngettext)\s*\(')


def c_locale_env():
    """The tools' messages and the template must not depend on the user's locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('LC_')}
    env.pop('LANGUAGE', None)
    env['LC_ALL'] = 'C'
    return env


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, env=c_locale_env())


def read_list(path):
    """LINGUAS and POTFILES.in: one or more names per line, # comments."""
    names = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            names += line.split()
    return names


ESCAPES = {'n': '\n', 't': '\t', '"': '"', '\\': '\\'}


def po_unescape(s):
    return re.sub(r'\\(.)', lambda m: ESCAPES.get(m.group(1), m.group(0)), s)


def read_po(path):
    """The entries of a po file written by the gettext tools (blank lines between entries):
    dicts with ctxt, id, strs (msgstr or msgstr[N]), fuzzy and obsolete."""
    with open(path, encoding='utf-8') as f:
        blocks = f.read().split('\n\n')
    entries = []
    for block in blocks:
        entry = {'ctxt': None, 'id': None, 'strs': [], 'fuzzy': False, 'obsolete': False}
        field = None
        for line in block.splitlines():
            if line.startswith('#~'):
                entry['obsolete'] = True
                line = line[2:].strip()
            if line.startswith('#,'):
                entry['fuzzy'] = 'fuzzy' in [flag.strip() for flag in line[2:].split(',')]
            elif line.startswith('"') and field:
                value = po_unescape(line[1:-1])
                if field == 'strs':
                    entry['strs'][-1] += value
                else:
                    entry[field] += value
            elif line.startswith(('msgctxt ', 'msgid ', 'msgid_plural ', 'msgstr')):
                keyword, _, rest = line.partition(' ')
                value = po_unescape(rest.strip()[1:-1])
                if keyword.startswith('msgstr'):
                    entry['strs'].append(value)
                    field = 'strs'
                else:
                    field = {'msgctxt': 'ctxt', 'msgid': 'id', 'msgid_plural': 'plural'}[keyword]
                    entry[field] = value
        if entry['id'] is not None:
            entries.append(entry)
    return entries


def describe(entry):
    text = entry['id'].replace('\n', '\\n')
    return f'“{text}”' + (f' (context “{entry["ctxt"]}”)' if entry['ctxt'] else '')


def extract_template(root, po_dir, xgettext_args, out):
    """Exactly what `meson compile tessera-pot` runs, written to OUT instead of po/."""
    return run(['xgettext', f'--package-name={PACKAGE}', '-f', os.path.join(po_dir, 'POTFILES.in'),
                '-D', root, '-k_', '-o', out] + xgettext_args)


def has_translatable_strings(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    if path.endswith('.c'):
        return C_MARKER.search(text) is not None
    if path.endswith('.ui'):
        return 'translatable="yes"' in text
    # The desktop file, metainfo and settings schema are translated as a whole.
    return path.endswith(('.desktop.in', '.metainfo.xml.in', '.gschema.xml'))


def unlisted_sources(root, listed):
    missing = []
    for top in SCANNED_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                if rel not in listed and has_translatable_strings(path):
                    missing.append(rel)
    return missing


def check_language(tap, po_dir, lang, template, tmp):
    po = os.path.join(po_dir, f'{lang}.po')
    if not os.path.exists(po):
        tap.result(False, f'{lang}.po exists (it is in LINGUAS)')
        return
    # --check-accelerators: a mnemonic in the English label keeps one in the translation.
    fmt = run(['msgfmt', '--check', '--check-format', '--check-accelerators=_', '-o', os.devnull,
               po])
    tap.result(fmt.returncode == 0,
               f'{lang}.po: msgfmt --check --check-format --check-accelerators',
               (fmt.stdout + fmt.stderr).splitlines())

    # Without fuzzy matching every new message arrives untranslated, and fuzzy entries
    # the translator left stay fuzzy.
    merged = os.path.join(tmp, f'{lang}.po')
    merge = run(['msgmerge', '--quiet', '--no-fuzzy-matching', '-o', merged, po, template])
    if merge.returncode != 0:
        tap.result(False, f'{lang}.po merges with the fresh template', merge.stderr.splitlines())
        return
    entries = [e for e in read_po(merged) if e['id'] and not e['obsolete']]
    untranslated = [e for e in entries if not all(e['strs'])]
    fuzzy = [e for e in entries if e['fuzzy'] and all(e['strs'])]
    details = [f'untranslated: {describe(e)}' for e in untranslated]
    details += [f'fuzzy: {describe(e)}' for e in fuzzy]
    if details:
        details.append(f'update it: meson compile -C BUILD {PACKAGE}-update-po, then translate')
    tap.result(not untranslated and not fuzzy,
               f'{lang}.po translates all {len(entries)} messages of the fresh template',
               details)
    stale = [e for e in read_po(po) if e['obsolete']]
    if stale:
        print(f'# {lang}.po keeps {len(stale)} obsolete messages')


def main():
    po_dir = os.path.abspath(sys.argv[1])
    xgettext_args = sys.argv[2:]
    root = os.path.dirname(po_dir)
    tools = [t for t in ('xgettext', 'msgfmt', 'msgmerge') if shutil.which(t) is None]
    if tools:
        print(f'1..0 # SKIP {", ".join(tools)} not found (Debian package gettext)')
        return 0

    tap = Tap()
    listed = set(read_list(os.path.join(po_dir, 'POTFILES.in')))
    missing = unlisted_sources(root, listed)
    tap.result(not missing, 'POTFILES.in lists every source file with translatable strings',
               [f'not in po/POTFILES.in: {m}' for m in missing])

    with tempfile.TemporaryDirectory(prefix='tessera-po-') as tmp:
        template = os.path.join(tmp, f'{PACKAGE}.pot')
        xgettext = extract_template(root, po_dir, xgettext_args, template)
        # A warning means a message the translators cannot get right (a format macro
        # inside the string, a broken marker): it fails like an error.
        messages = [e for e in read_po(template) if e['id']] if xgettext.returncode == 0 else []
        tap.result(xgettext.returncode == 0 and 'warning' not in xgettext.stderr,
                   f'xgettext extracts {len(messages)} messages without warnings',
                   xgettext.stderr.splitlines())
        if xgettext.returncode != 0:
            return tap.finish()
        for lang in read_list(os.path.join(po_dir, 'LINGUAS')):
            check_language(tap, po_dir, lang, template, tmp)
    return tap.finish()


if __name__ == '__main__':
    sys.exit(main())

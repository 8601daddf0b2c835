#!/usr/bin/env python3
"""tessera-cli loads its Simplified Chinese catalogue from the build folder. TAP output.

Usage: check-cli-locale.py TESSERA-CLI PO-BUILD-DIR

The expected text comes from the built zh_CN.mo (read with Python's gettext module), so
the test checks that the program finds and uses the catalogue, not the wording.
"""
import gettext
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import Tap  # noqa: E402

LANG = 'zh_CN'
USAGE = 'Usage: tessera-cli COMMAND [OPTION…]\n\nCommands:\n'
SUMMARIES = [
    'Show the compute devices and the chosen backend',
    'Generate images from a prompt',
    'Repaint the masked part of an image',
    "Extend an image's canvas and paint the new border",
]
UNKNOWN = 'tessera-cli: unknown command “%s”\n'


def available_locales():
    out = subprocess.run(['locale', '-a'], capture_output=True, text=True).stdout
    return {name.lower().replace('-', '') for name in out.split()}


def zh_cn_locale(locales, tmp):
    """The environment that makes zh_CN.UTF-8 usable, or None and why not. Without a
    generated locale, one is compiled into TMP (a second or two) where glibc's sources are."""
    if 'zh_cn.utf8' in locales:
        return {}, None
    source = '/usr/share/i18n/locales/zh_CN'
    if not shutil.which('localedef') or not os.path.exists(source):
        return None, 'the zh_CN.UTF-8 locale is not generated here and cannot be (package locales)'
    made = subprocess.run(['localedef', '-i', 'zh_CN', '-f', 'UTF-8',
                           os.path.join(tmp, 'zh_CN.UTF-8')], capture_output=True, text=True)
    if made.returncode != 0:
        return None, f'localedef could not compile zh_CN.UTF-8: {made.stderr.strip()}'
    return {'LOCPATH': tmp}, None


def run_cli(cli, args, locale_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith(('LC_', 'LANG'))}
    env.update(locale_env)
    return subprocess.run([cli] + args, capture_output=True, env=env)


def expect(tap, name, proc, status, wanted, unwanted=()):
    out = (proc.stdout + proc.stderr).decode('utf-8', errors='replace')
    details = [f'missing: {w!r}' for w in wanted if w not in out]
    details += [f'still English: {u!r}' for u in unwanted if u in out]
    if proc.returncode != status:
        details.append(f'exit status {proc.returncode}, wanted {status}')
    tap.result(not details, name, details + out.splitlines()[:20] if details else [])


def main():
    cli, po_build = sys.argv[1], os.path.abspath(sys.argv[2])
    mo_path = os.path.join(po_build, LANG, 'LC_MESSAGES', 'tessera.mo')
    if not os.path.exists(mo_path):
        print(f'1..0 # SKIP {LANG} is not in po/LINGUAS ({mo_path} was not built)')
        return 0
    with open(mo_path, 'rb') as f:
        catalogue = gettext.GNUTranslations(f)
    tap = Tap()

    messages = [USAGE, UNKNOWN] + SUMMARIES
    untranslated = [m for m in messages if catalogue.gettext(m) == m]
    tap.result(not untranslated, f'{LANG}.mo translates the messages this test looks for',
               [f'untranslated: {m!r}' for m in untranslated])
    help_wanted = ([catalogue.gettext(USAGE).split('\n')[0]] +
                   [catalogue.gettext(s) for s in SUMMARIES])

    locales = available_locales()
    # LANGUAGE is honoured under any locale but plain C, and C.UTF-8 is built into glibc:
    # this path works on machines where no zh_CN locale was generated.
    c_utf8 = {'LC_ALL': 'C.UTF-8', 'LANGUAGE': LANG, 'TESSERA_LOCALEDIR': po_build}
    if 'c.utf8' in locales:
        expect(tap, 'LANGUAGE=zh_CN under C.UTF-8: --help is Chinese',
               run_cli(cli, ['--help'], c_utf8), 0, help_wanted, SUMMARIES)
        expect(tap, 'a formatted error message is Chinese, with its argument',
               run_cli(cli, ['frobnicate'], c_utf8), 2,
               [catalogue.gettext(UNKNOWN).replace('%s', 'frobnicate').strip()])
        expect(tap, 'the option help of a command is Chinese',
               run_cli(cli, ['generate', '--help'], c_utf8), 0,
               [catalogue.gettext('What to paint'),
                catalogue.gettext('Generate images from a prompt.')],
               ['What to paint'])
    else:
        for name in ('--help', 'error message', 'option help'):
            tap.skip(f'{name} under C.UTF-8', 'the C.UTF-8 locale is missing on this machine')

    with tempfile.TemporaryDirectory(prefix='tessera-locale-') as tmp:
        zh_env, why_not = zh_cn_locale(locales, tmp)
        name = 'LANG=zh_CN.UTF-8: --help is Chinese'
        if zh_env is None:
            tap.skip(name, why_not)
        else:
            zh_env.update({'LANG': 'zh_CN.UTF-8', 'TESSERA_LOCALEDIR': po_build})
            expect(tap, name, run_cli(cli, ['--help'], zh_env), 0, help_wanted, SUMMARIES)

    # The control: the same catalogue under the C locale gives the English text, so the
    # checks above see the translation and not some fixed output.
    expect(tap, 'under LC_ALL=C --help stays English',
           run_cli(cli, ['--help'],
                   {'LC_ALL': 'C', 'LANGUAGE': LANG, 'TESSERA_LOCALEDIR': po_build}),
           0, ['Usage: tessera-cli'] + SUMMARIES)

    return tap.finish()


if __name__ == '__main__':
    sys.exit(main())

"""The manual pages: one per program, clean under mandoc -Tlint, and in step
with the code (config keys, usage lines, handler endpoints).

Programs are the files in $MYELIN_BIN (default build/bin) and the
executables in bin/.  Needs no running stack.
"""
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAN = os.path.join(ROOT, "man")
BUILD_BIN = os.environ.get("MYELIN_BIN", os.path.join(ROOT, "build", "bin"))
SCRIPT_BIN = os.path.join(ROOT, "bin")
CONFIG_C = os.path.join(ROOT, "lib", "config", "config.c")
CONF_PAGE = os.path.join(MAN, "myelin.conf.5")


def executables(directory):
    """{name: path} of the executable files in directory ({} if none)."""
    if not os.path.isdir(directory):
        return {}
    out = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            out[name] = path
    return out


PROGRAMS = {**executables(BUILD_BIN), **executables(SCRIPT_BIN)}
PAGES = sorted(f for f in os.listdir(MAN) if re.search(r"\.[1-9]$", f)) \
    if os.path.isdir(MAN) else []


def page_of(program):
    """Path of program's page in man/ (section 8, or 1), or None."""
    for sect in "81":
        path = os.path.join(MAN, "%s.%s" % (program, sect))
        if os.path.isfile(path):
            return path
    return None


def mandoc():
    path = shutil.which("mandoc")
    assert path, "mandoc is not installed (bin/myelin-deps test installs it)"
    return path


def render(page):
    """The page as plain text, one line per output line, no wrapping."""
    r = subprocess.run([mandoc(), "-Tascii", "-O", "width=1000", page],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return re.sub(r".\x08", "", r.stdout)


def section(text, name):
    """Lines of the rendered section name, without the heading."""
    lines = text.splitlines()
    start = lines.index(name) + 1
    end = start
    while end < len(lines) and (lines[end] == "" or lines[end][0].isspace()):
        end += 1
    return lines[start:end]


def squeeze(s):
    return " ".join(s.split())


# -- every program has a page -------------------------------------------------

def test_programs_found():
    """Guards the tests below against passing on an empty build."""
    assert executables(BUILD_BIN), \
        "no programs in %s: run make (or set MYELIN_BIN)" % BUILD_BIN
    assert executables(SCRIPT_BIN), "no executables in %s" % SCRIPT_BIN


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_program_has_page(program):
    assert page_of(program), "%s has no manual page man/%s.8" % (program, program)


def test_overview_pages_exist():
    for page in ("myelin.7", "myelin.conf.5"):
        assert os.path.isfile(os.path.join(MAN, page)), "man/%s is missing" % page


# -- mandoc -Tlint ------------------------------------------------------------

def test_pages_found():
    assert PAGES, "no manual pages in %s" % MAN


@pytest.mark.parametrize("page", PAGES)
def test_page_lints_clean(page):
    r = subprocess.run([mandoc(), "-Tlint", "-Wwarning", os.path.join(MAN, page)],
                       capture_output=True, text=True, timeout=60)
    out = (r.stdout + r.stderr).strip()
    assert r.returncode == 0 and out == "", out


# -- myelin.conf(5) documents every key ---------------------------------------

def config_keys():
    """Key names of the keys[] table in lib/config/config.c."""
    with open(CONFIG_C) as f:
        src = f.read()
    m = re.search(r"\bkeys\s*\[\s*\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert m, "no keys[] table in %s" % CONFIG_C
    keys = re.findall(r'\{\s*"([^"]+)"\s*,\s*C_[A-Z]+', m.group(1))
    assert keys, "keys[] in %s holds no key this test recognises" % CONFIG_C
    return keys


def documented_keys():
    """Keys the page lists as items: '.It Ic key No = ...'."""
    with open(CONF_PAGE) as f:
        return re.findall(r"^\.It Ic (\S+) No =", f.read(), re.M)


def test_config_keys_documented():
    missing = [k for k in config_keys() if k not in documented_keys()]
    assert not missing, "myelin.conf.5 does not document: %s" % ", ".join(missing)


def test_documented_keys_exist():
    stale = [k for k in documented_keys() if k not in config_keys()]
    assert not stale, "myelin.conf.5 documents keys the parser refuses: %s" % \
        ", ".join(stale)


# -- usage() is the SYNOPSIS ---------------------------------------------------

def usage_lines(program, path, cwd):
    """
    The synopsis lines of the usage message program prints for an unknown
    option.  Not run without arguments: some programs then do their work
    (myelin-run starts a stack).  cwd is a scratch directory, in case.
    """
    env = {k: v for k, v in os.environ.items() if k != "MYELIN_CONFIG"}
    r = subprocess.run([path, "-Z"], capture_output=True, text=True, timeout=30,
                       env=env, cwd=cwd, stdin=subprocess.DEVNULL)
    assert r.returncode == 2, "%s -Z: exit %d, not 2" % (program, r.returncode)
    lines = r.stderr.splitlines()
    first = [i for i, l in enumerate(lines) if l.startswith("usage:")]
    assert first, "%s printed no usage line:\n%s" % (program, r.stderr)
    out = []
    for i, line in enumerate(lines[first[0]:]):
        words = line.split()
        if i == 0:
            words = words[1:]
            words[0] = os.path.basename(words[0])
        elif not words or words[0] != program:
            break
        out.append(" ".join(words))
    return out


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_usage_is_synopsis(program, tmp_path):
    page = page_of(program)
    assert page, "%s has no manual page" % program
    synopsis = [squeeze(l) for l in section(render(page), "SYNOPSIS") if l.strip()]
    assert usage_lines(program, PROGRAMS[program], str(tmp_path)) == synopsis


# -- handler pages list their endpoints ---------------------------------------

def handler_dirs():
    """{source folder: program} of the handler programs in the Makefile."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        mk = f.read()
    return dict((d, p) for p, d in re.findall(
        r"^(\S+)_SRCS\s*=.*wildcard\s+(handlers/[^/\s]+)/", mk, re.M))


def handler_routes(folder):
    """[(METHOD, path), ...] from the route table of one handler folder."""
    src = ""
    for name in sorted(os.listdir(os.path.join(ROOT, folder))):
        if name.endswith((".c", ".h")):
            with open(os.path.join(ROOT, folder, name)) as f:
                src += f.read() + "\n"
    macros = dict(re.findall(r'^#define\s+(\w+)\s+"([^"]*)"', src, re.M))
    routes = []
    for method, expr in re.findall(
            r'\{\s*MM_([A-Z]+)\s*,\s*((?:(?:\w+|"[^"]*")\s*)+),', src):
        parts = re.findall(r'"([^"]*)"|(\w+)', expr)
        unknown = [n for lit, n in parts if n and n not in macros]
        assert not unknown, "%s: route path uses %s, not a string macro" % (folder, unknown)
        routes.append((method, "".join(lit if lit else macros[n] for lit, n in parts)))
    assert routes, "no routes found in %s" % folder
    return routes


HANDLERS = handler_dirs()


def test_handlers_found():
    assert HANDLERS, "no handler programs (handlers/NAME) found in the Makefile"


@pytest.mark.parametrize("folder", sorted(HANDLERS))
def test_handler_endpoints_documented(folder):
    program = HANDLERS[folder]
    page = page_of(program)
    assert page, "%s has no manual page" % program
    text = squeeze(render(page))
    missing = ["%s %s" % r for r in handler_routes(folder) if "%s %s" % r not in text]
    assert not missing, "%s does not list: %s" % (os.path.basename(page), ", ".join(missing))


def test_example_config_is_valid():
    """etc/myelin.conf.example, the file sysadmins start from, passes
    myelin-admin config check."""
    example = os.path.join(ROOT, "etc", "myelin.conf.example")
    r = subprocess.run([os.path.join(BUILD_BIN, "myelin-admin"), "-c", example,
                        "config", "check"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "configuration OK"

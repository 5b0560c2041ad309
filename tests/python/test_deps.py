"""Every Python import in the repository comes from the standard library, from the
repository itself, or from a Debian package that scripts/install-deps.sh installs.

A fresh Debian machine has only what that script installs; a module that merely happens
to be present on a developer's machine (python3-yaml was one) fails there and nowhere else.
"""
import ast
import re
import sys
from pathlib import Path

from conftest import SOURCE_DIR

# Import name -> Debian package that provides it.
DEBIAN_PACKAGE = {
    "numpy": "python3-numpy",
    "h5py": "python3-h5py",
    "pandas": "python3-pandas",
    "matplotlib": "python3-matplotlib",
    "scipy": "python3-scipy",
    "pytest": "python3-pytest",
    "yaml": "python3-yaml",
    "jinja2": "python3-jinja2",
}


def installed_packages():
    text = (SOURCE_DIR / "scripts" / "install-deps.sh").read_text()
    body = re.search(r"PKGS=\((.*?)\)", text, re.S)
    assert body, "scripts/install-deps.sh: no PKGS=( ... ) list"
    return set(body.group(1).split())


def python_files():
    for top in ("analysis", "tests", "scripts", "benchmarks", "docs"):
        yield from sorted((SOURCE_DIR / top).rglob("*.py"))


def local_modules():
    """Modules importable from inside the repository (files and packages next to scripts)."""
    names = set()
    for f in python_files():
        names.add(f.stem)
        if f.name == "__init__.py":
            names.add(f.parent.name)
    return names


def imported_top_level(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def test_every_import_is_installed_by_the_install_script():
    packages = installed_packages()
    local = local_modules()
    problems = []
    for f in python_files():
        for line, name in imported_top_level(f):
            if name in sys.stdlib_module_names or name in local or name == "__future__":
                continue
            pkg = DEBIAN_PACKAGE.get(name)
            where = f"{f.relative_to(SOURCE_DIR)}:{line}"
            if pkg is None:
                problems.append(f"{where}: imports '{name}', which maps to no known Debian package "
                                "(add it to DEBIAN_PACKAGE here and to install-deps.sh)")
            elif pkg not in packages:
                problems.append(f"{where}: imports '{name}' but install-deps.sh does not install {pkg}")
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_missing_package(tmp_path):
    # The check above must be able to fail: yaml is imported by the layout test.
    packages = installed_packages() - {"python3-yaml"}
    missing = [n for f in python_files() for _, n in imported_top_level(f)
               if DEBIAN_PACKAGE.get(n) and DEBIAN_PACKAGE[n] not in packages]
    assert "yaml" in missing

"""The package's shape: one installed top-level name, no import circle (of modules or of
folders), a checker and a conformance harness that know no protocol, protocols that know no
other, a pure spec, and only the command line parsing arguments or opening users' files.

The import graph is read from the source (every `import`, including those inside functions),
so a circle or a forbidden edge fails here before it confuses a reader.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import venv
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PARTS = {"spec", "model_check", "reference", "conformance"}
# The folders whose imports must not go round in a circle (a folder imports another when
# any module of it does).
FOLDERS = ("noloss.spec", "noloss.model_check", "noloss.reference", "noloss.conformance", "noloss.cli")
# The protocols: each a folder of spec/, with its conformance pieces in conformance/<name>/.
PROTOCOLS = ("rocketmq",)
# The conformance harness: it runs any target and judges by the protocol it is handed.
HARNESS = (
    "noloss.conformance.run",
    "noloss.conformance.counts",
    "noloss.conformance.judgement",
    "noloss.conformance.evidence",
    "noloss.conformance.workload",
    "noloss.conformance.history",
    "noloss.conformance.faults",
    "noloss.conformance.report",
    "noloss.conformance.inject",
    "noloss.conformance.targets.base",
)
# What a pure state machine never imports: files, processes, sockets, clocks, randomness.
IO_MODULES = {"os", "io", "sys", "socket", "asyncio", "subprocess", "pathlib", "shutil", "tempfile", "time", "random", "threading", "logging"}
IO_CALLS = {"open", "print", "input"}


def module_files() -> dict[str, Path]:
    """Every module of the package, by its installed name."""
    files: dict[str, Path] = {}
    # noloss/ links to the parts' folders: walk through the links as the import system does.
    found = [Path(folder) / name for folder, _, names in os.walk(ROOT / "noloss", followlinks=True) for name in names]
    for path in sorted(p for p in found if p.suffix == ".py"):
        relative = path.relative_to(ROOT).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        files[".".join(parts)] = path
    return files


def imports_of(name: str, path: Path) -> set[str]:
    """The modules `name` imports (absolute names; `from a import b` counts b when it is a module)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    # Imports only a type checker runs (`if TYPE_CHECKING:`) are annotations, not dependencies.
    type_only = {
        id(inner)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING")
        for inner in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> nx.DiGraph:
    files = module_files()
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for name, path in files.items():
        for target in imports_of(name, path):
            if target in files and target != name:
                graph.add_edge(name, target)
    return graph


def test_the_package_has_every_part() -> None:
    names = set(module_files())
    assert {f"noloss.{part}" for part in PARTS} <= names
    assert "noloss.cli" in names and "noloss.cli.errors" in names


def test_no_import_circle() -> None:
    graph = import_graph()
    # A parent package importing its own submodule is not a circle a reader trips over.
    graph.remove_edges_from([(a, b) for a, b in list(graph.edges) if b.startswith(a + ".")])
    cycles = list(nx.simple_cycles(graph))
    assert cycles == [], cycles


def _folder(module: str) -> str | None:
    return next((folder for folder in FOLDERS if module == folder or module.startswith(folder + ".")), None)


def test_no_folder_level_circle() -> None:
    folders = nx.DiGraph()
    folders.add_nodes_from(FOLDERS)
    for a, b in import_graph().edges:
        source, target = _folder(a), _folder(b)
        if source and target and source != target:
            folders.add_edge(source, target, why=(a, b))
    cycles = list(nx.simple_cycles(folders))
    why = [folders.edges[a, b]["why"] for cycle in cycles for a, b in zip(cycle, cycle[1:] + cycle[:1])]
    assert cycles == [], why


def test_the_checker_imports_no_protocol() -> None:
    """model_check/ is the engine: it reaches nothing of spec/ (a protocol hands it a Protocol value)."""
    graph = import_graph()
    for module in (m for m in graph if m.startswith("noloss.model_check")):
        reached = nx.descendants(graph, module)
        assert not {m for m in reached if m.startswith("noloss.spec")}, (module, sorted(reached))


def test_the_conformance_harness_imports_no_protocol() -> None:
    """The harness (run, workload, history, faults, report, fault injection) reaches no protocol's
    spec or lockstep: the protocol and its targets are handed to it."""
    graph = import_graph()
    harness = [m for m in graph if any(m == h or m.startswith(h + ".") for h in HARNESS)]
    assert harness, "the harness's modules moved: update HARNESS"
    for module in harness:
        reached = nx.descendants(graph, module)
        protocol = {m for m in reached for p in PROTOCOLS if f".{p}." in m + "." and m.startswith(("noloss.spec", "noloss.conformance"))}
        assert not protocol, (module, sorted(protocol))


def test_no_protocol_imports_another() -> None:
    graph = import_graph()
    for name in PROTOCOLS:
        own = (f"noloss.spec.{name}", f"noloss.conformance.{name}")
        others = [(f"noloss.spec.{o}", f"noloss.conformance.{o}") for o in PROTOCOLS if o != name]
        for module in (m for m in graph if m.startswith(own)):
            for target in graph.successors(module):
                assert not any(target.startswith(other) for pair in others for other in pair), (module, target)


def test_spec_holds_only_protocols_and_what_they_share() -> None:
    """spec/ is one folder per protocol; a module directly in spec/ would be a protocol without a name."""
    loose = [
        name for name, path in module_files().items()
        if name.count(".") == 2 and name.startswith("noloss.spec.") and path.name != "__init__.py"
    ]
    assert loose == [], loose
    assert {name.split(".")[2] for name in module_files() if name.startswith("noloss.spec.")} == set(PROTOCOLS)


def test_only_the_command_line_parses_arguments() -> None:
    files = module_files()
    for name, path in files.items():
        if not name.startswith("noloss.cli") and name != "noloss.__main__":
            assert "argparse" not in imports_of(name, path), name


def test_the_spec_and_the_checker_open_no_files() -> None:
    """Users' files (RocketMQ's .properties, a trace) are opened by the command line only: the
    spec parses their text, the checker and its reports never touch a file."""
    for name, path in module_files().items():
        if not name.startswith(("noloss.spec", "noloss.model_check")):
            continue
        tree = ast.parse(path.read_text())
        imported = {module.split(".")[0] for module in imports_of(name, path)}
        assert not imported & {"pathlib", "io", "shutil", "tempfile"}, (name, imported)
        opened = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open"]
        # The progress bar reads its own process's memory from /proc: not a user's file.
        assert all(ast.unparse(node.args[0]).startswith(("f'/proc/", '"/proc/')) for node in opened), name
        methods = {node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
        assert not methods & {"read_text", "read_bytes", "write_text", "write_bytes", "unlink", "mkdir", "glob"}, (name, methods)


def test_the_spec_does_no_io() -> None:
    for name, path in module_files().items():
        if not name.startswith("noloss.spec"):
            continue
        imported = {module.split(".")[0] for module in imports_of(name, path)}
        assert not imported & IO_MODULES, (name, imported & IO_MODULES)
        calls = {
            node.func.id
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert not calls & IO_CALLS, (name, calls & IO_CALLS)


def test_every_import_names_the_package() -> None:
    """No module imports a part by its folder name (`import spec`): that would load a second copy."""
    for name, path in module_files().items():
        bare = {module for module in imports_of(name, path) if module.split(".")[0] in PARTS}
        assert not bare, (name, bare)


@pytest.mark.slow
def test_a_fresh_venv_installs_only_noloss_at_the_top_level(tmp_path: Path) -> None:
    """Build the wheel, install it into a new venv, and list what that venv can import at the top."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)], check=True, timeout=300)
    (wheel,) = wheels.glob("noloss-*.whl")
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    before = _top_level_names(python)
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=600)
    after = _top_level_names(python)
    # Dependencies (networkx, crc32c) bring their own names; the project brings exactly one.
    added_by_noloss = {name for name in after - before if _owner(python, name) == "noloss"}
    assert added_by_noloss == {"noloss"}, added_by_noloss
    for part in PARTS:
        probe = subprocess.run([str(python), "-c", f"import {part}"], capture_output=True, text=True, cwd=tmp_path)
        assert probe.returncode != 0, f"`import {part}` works in a fresh venv"
    version = subprocess.run([str(python), "-m", "noloss", "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("noloss "), version


# Run from the venv's own folder: the repository's folder on sys.path would add its own names.
def _top_level_names(python: Path) -> set[str]:
    listing = subprocess.run(
        [str(python), "-c", "import pkgutil, site; print('\\n'.join(m.name for m in pkgutil.iter_modules(site.getsitepackages())))"],
        capture_output=True, text=True, check=True, cwd=python.parent,
    )
    return set(listing.stdout.split())


def _owner(python: Path, name: str) -> str:
    found = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(','.join(m.packages_distributions().get({name!r}, [])))"],
        capture_output=True, text=True, check=True, cwd=python.parent,
    )
    return found.stdout.strip()

"""Entry-point discovery in a subprocess, through fake ``*.dist-info`` folders on ``sys.path``:
laziness, isolation of broken plugins, conflicts between distributions, the environment switches,
and the CLI (``python -m einframe plugins|info``)."""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENV_KEYS = ("EINFRAME_DISABLE_PLUGIN_AUTOLOAD", "EINFRAME_PLUGINS", "EINFRAME_PLUGINS_STRICT")

GOOD = """
import einframe as ef
from einframe import nn

class Swish(nn.Module):
    def forward(self, x):
        return x * x.sigmoid()

@ef.hookimpl
def register_layers(register):
    register("Swish", Swish)

@ef.hookimpl
def register_initializers(register):
    register("halves_", lambda t: t.fill_(0.5))
"""

BROKEN_IMPORT = "import module_that_does_not_exist_anywhere\n"

BROKEN_REGISTER = """
import einframe as ef

@ef.hookimpl
def register_layers(register):
    register("HalfDone", object)
    raise RuntimeError("registration exploded")
"""

CONFLICT = """
import einframe as ef
from einframe import nn

class OtherSwish(nn.Module):
    def forward(self, x):
        return x

@ef.hookimpl
def register_layers(register):
    register("Swish", OtherSwish)
"""


def make_dist(site: pathlib.Path, dist: str, module: str, source: str, version: str = "0.1.0") -> None:
    """A fake installed distribution: METADATA + entry_points.txt in a dist-info, and its module."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[einframe]\n{module.split('_', 1)[-1]} = {module}\n")
    (site / f"{module}.py").write_text(textwrap.dedent(source))


def run(site: pathlib.Path | None, code: str = "", *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    e["PYTHONPATH"] = os.pathsep.join([str(site)] if site else []) + os.pathsep + str(ROOT)
    e.update(env or {})
    cmd = [sys.executable, *args] if args else [sys.executable, "-c", textwrap.dedent(code)]
    return subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=str(site or ROOT), timeout=120)


@pytest.fixture
def site(tmp_path):
    s = tmp_path / "site"
    s.mkdir()
    make_dist(s, "einframe-fake-good", "fakeplug_good", GOOD, "1.2.3")
    return s


def test_discovery_is_lazy_and_registers(site):
    r = run(
        site,
        """
        import sys
        import einframe as ef
        assert "fakeplug_good" not in sys.modules and "einframe.plugins" not in sys.modules, "import einframe loaded plugins"
        assert "pluggy" not in sys.modules and "einframe.nn" not in sys.modules
        assert "Swish" in ef.plugins.names("layers")
        assert "fakeplug_good" in sys.modules
        m = ef.nn.build({"type": "Swish"})
        print(type(m).__name__, ef.plugins.get("initializers", "halves_")(ef.zeros(2)).tolist())
        rec = ef.plugins.report()["einframe-fake-good"]
        print(rec.version, rec.status, rec.registered)
        """,
    )
    assert r.returncode == 0, r.stderr
    assert "Swish [0.5, 0.5]" in r.stdout
    assert "1.2.3 loaded {'layers': ['Swish'], 'initializers': ['halves_']}" in r.stdout


def test_broken_plugins_are_isolated(site):
    make_dist(site, "einframe-fake-broken", "fakeplug_broken", BROKEN_IMPORT, "0.0.1")
    make_dist(site, "einframe-fake-halfway", "fakeplug_halfway", BROKEN_REGISTER)
    r = run(
        site,
        """
        import warnings
        import einframe as ef
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            names = ef.plugins.names("layers")
        msgs = [str(x.message) for x in w if issubclass(x.category, ef.plugins.PluginWarning)]
        print("\\n".join(msgs))
        assert "Swish" in names and "HalfDone" not in names, names
        rep = ef.plugins.report()
        print("FAILED", sorted(r.distribution for r in rep.failed))
        print("ERR", rep["einframe-fake-halfway"].error)
        """,
    )
    assert r.returncode == 0, r.stderr
    assert "'einframe-fake-broken' (0.0.1) failed to load and was skipped: ModuleNotFoundError" in r.stdout
    assert "module_that_does_not_exist_anywhere" in r.stdout
    assert "FAILED ['einframe-fake-broken', 'einframe-fake-halfway']" in r.stdout
    assert "ERR RuntimeError: registration exploded" in r.stdout


def test_strict_mode_raises(site):
    make_dist(site, "einframe-fake-broken", "fakeplug_broken", BROKEN_IMPORT)
    r = run(site, "import einframe as ef; ef.plugins.names('layers')", env={"EINFRAME_PLUGINS_STRICT": "1"})
    assert r.returncode != 0
    assert "PluginLoadError" in r.stderr and "einframe-fake-broken" in r.stderr


def test_conflict_between_distributions_names_both(site):
    make_dist(site, "einframe-fake-other", "fakeplug_other", CONFLICT, "2.0")
    r = run(
        site,
        """
        import warnings
        import einframe as ef
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            cls = ef.plugins.get("layers", "Swish")
        print(cls.__module__)
        print([str(x.message) for x in w])
        """,
    )
    assert r.returncode == 0, r.stderr
    assert "fakeplug_good" in r.stdout  # sorted by distribution name: the first one keeps the name
    assert "layer 'Swish' is registered by both 'einframe-fake-good' and 'einframe-fake-other'" in r.stdout
    r = run(site, "import einframe as ef; ef.plugins.load()", env={"EINFRAME_PLUGINS_STRICT": "1"})
    assert r.returncode != 0 and "registered by both 'einframe-fake-good' and 'einframe-fake-other'" in r.stderr


def test_disable_autoload(site):
    r = run(
        site,
        """
        import sys
        import einframe as ef
        names = ef.plugins.names("layers")
        assert "Swish" not in names and "Linear" in names
        assert "fakeplug_good" not in sys.modules
        print(ef.plugins.report()["einframe-fake-good"].status)
        """,
        env={"EINFRAME_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "disabled"


def test_allow_list(site):
    make_dist(site, "einframe-fake-other", "fakeplug_other", CONFLICT)
    code = """
        import einframe as ef
        rep = ef.plugins.report()
        print({r.distribution: r.status for r in rep.plugins if "fake" in r.distribution})
        """
    r = run(site, code, env={"EINFRAME_PLUGINS": "einframe-fake-other"})
    assert r.returncode == 0, r.stderr
    assert "{'einframe-fake-good': 'disabled', 'einframe-fake-other': 'loaded'}" in r.stdout
    r = run(site, code, env={"EINFRAME_PLUGINS": "good"})  # an entry-point name works too
    assert "{'einframe-fake-good': 'loaded', 'einframe-fake-other': 'disabled'}" in r.stdout
    r = run(site, code, env={"EINFRAME_PLUGINS": ""})  # empty: none
    assert "{'einframe-fake-good': 'disabled', 'einframe-fake-other': 'disabled'}" in r.stdout


# ---- CLI ----------------------------------------------------------------------------------------


def test_cli_plugins_lists_distributions_and_failures(site):
    make_dist(site, "einframe-fake-broken", "fakeplug_broken", BROKEN_IMPORT, "0.0.1")
    r = run(site, "", "-m", "einframe", "plugins")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "einframe 0.1.0 [builtin] loaded" in out
    assert "layers (" in out and "Linear" in out and "hooks (2): nan_check, activation_stats" in out
    assert "einframe-fake-good 1.2.3 [entry-point] loaded" in out
    assert "entry points: good = fakeplug_good" in out
    assert "layers (1): Swish" in out and "initializers (1): halves_" in out
    assert "einframe-fake-broken 0.0.1 [entry-point] failed" in out
    assert "error: ModuleNotFoundError" in out
    r = run(site, "", "-m", "einframe", "plugins", "--json")
    data = json.loads(r.stdout)
    by = {p["distribution"]: p for p in data["plugins"]}
    assert by["einframe-fake-good"]["registered"] == {"layers": ["Swish"], "initializers": ["halves_"]}
    assert by["einframe-fake-broken"]["status"] == "failed"
    assert data["api_version"] == "1.0" and data["autoload"] is True


def test_cli_info(site):
    r = run(site, "", "-m", "einframe", "info")
    assert r.returncode == 0, r.stderr
    for text in (
        "einframe 0.1.0",
        "numpy",
        "backends:",
        "cpu:",
        "cuda:",
        "blas:",
        "plan cache:",
        "plugins:",
        "einframe-fake-good (loaded)",
    ):
        assert text in r.stdout, text
    data = json.loads(run(site, "", "-m", "einframe", "info", "--json").stdout)
    assert set(data) >= {"einframe", "backends", "blas", "plan_cache", "plugins"}
    assert data["plugins"]["registered"]["layers"] >= 7
    r = run(site, "", "-m", "einframe")
    assert r.returncode == 2 and "plugins" in r.stdout


def test_console_script():
    exe = shutil.which("einframe", path=str(pathlib.Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the einframe console script is not installed (pip install -e .)")
    r = subprocess.run([exe, "plugins"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "einframe 0.1.0 [builtin] loaded" in r.stdout


def test_import_einframe_is_light():
    r = run(
        None,
        """
        import sys, time
        t = time.perf_counter()
        import einframe
        dt = time.perf_counter() - t
        heavy = [m for m in ("pluggy", "einframe.plugins", "einframe.nn", "einframe.optim", "importlib.metadata") if m in sys.modules]
        print(heavy, round(dt * 1000))
        """,
    )
    assert r.returncode == 0, r.stderr
    heavy = r.stdout.split("]")[0] + "]"
    assert "einframe.plugins" not in heavy and "pluggy" not in heavy and "einframe.nn" not in heavy

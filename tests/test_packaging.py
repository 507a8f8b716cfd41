"""What ships: the wheel holds the product only, declares what the Function App installs, and
installed with its dependencies plans every kind outside the checkout; the Function App
package (what ``.funcignore`` leaves) holds no test machinery."""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from armemu import Emulator
from sync.kinds import KIND_NAMES, get_kind
from tests.contract.conftest import FOREIGN
from tests.contract.harness import Arm, Harness
from tests.engine.conftest import make_nsg, nsg_id

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "tests" / "data" / "ServiceTags_Public_20251017.json.xz"
#: A service tag that fits every kind's limit in RELEASE (96 IPv4 prefixes, 1 IPv6).
TAG = "Storage.WestEurope"
PIP_WHEEL = (sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation")
#: Top-level folders that are test or demo machinery, never product.
MACHINERY = ("tests", "bench", "armemu")


def lower_bounds(requirements: list[str]) -> set[tuple[str, str]]:
    """``(name, lowest version allowed)`` of each requirement (``""`` when it has none)."""
    found = set()
    for text in requirements:
        requirement = Requirement(text)
        low = [s.version for s in requirement.specifier if s.operator in (">=", ">", "==", "~=")]
        found.add((canonicalize_name(requirement.name), ",".join(sorted(low))))
    return found


def requirements_txt(path: Path) -> list[str]:
    """The requirements of a pip requirements file, without comments and ``-r`` includes."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def test_the_package_and_the_function_app_need_the_same_runtime() -> None:
    """``pip install ipsync`` and the Function App's requirements.txt install the same SDKs, at
    the same lowest versions: a kind whose SDK one of them lacks fails only where it runs."""
    app = lower_bounds(requirements_txt(ROOT / "requirements.txt"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    package = lower_bounds(project["dependencies"])
    assert len(app) >= 10
    assert not app - package, f"in requirements.txt, not in pyproject.toml: {sorted(app - package)}"
    assert not package - app, f"in pyproject.toml, not in requirements.txt: {sorted(package - app)}"


def test_lower_bounds_tell_a_missing_or_older_requirement() -> None:
    assert lower_bounds(["Azure_Mgmt-SQL>=4.0", "httpx>=0.28,<1"]) == {
        ("azure-mgmt-sql", "4.0"),
        ("httpx", "0.28"),
    }
    assert lower_bounds(["netaddr>=1.3"]) != lower_bounds(["netaddr>=1.2"])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [*PIP_WHEEL, "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("ipsync-*.whl")
    return built


@pytest.fixture(scope="module")
def unpacked(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(where)
    return where


def _run(site: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Python with the unpacked wheel on its path and the checkout nowhere on it (the
    checkout's venv puts it there with a ``.pth``: taken off before ``code`` runs)."""
    off = f"import sys\nsys.path[:] = [p for p in sys.path if p.rstrip('/') != {str(ROOT)!r}]\n"
    return subprocess.run(
        [sys.executable, "-c", off + code],
        check=False,
        cwd=cwd,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_wheel_holds_the_product_and_the_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        scripts = archive.read(entry_points).decode()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    tops = {name.split("/", 1)[0] for name in names}
    assert "sync" in tops
    assert not tops & set(MACHINERY)
    assert "ipsync = sync.app.cli:main" in scripts
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires
    assert not [r for r in requires if any(t in r for t in ("trustme", "pytest", "checkov"))]


def test_wheel_reads_the_feed_outside_the_checkout_without_azure_sdks(
    unpacked: Path, tmp_path: Path
) -> None:
    code = (
        "import sys\n"
        "from sync.app.cli import main\n"
        f"rc = main(['prefixes', 'Storage.WestEurope', '--source', {str(RELEASE)!r}])\n"
        "loaded = sorted({m for m in sys.modules if m.startswith(('azure', 'armemu'))})\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    done = _run(unpacked, code, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert lines
    assert all("/" in line for line in lines)
    assert "LOADED []" in done.stderr


def test_wheel_demo_without_the_emulator_says_how_to_get_it(unpacked: Path, tmp_path: Path) -> None:
    code = "import sys\nfrom sync.app.cli import main\nsys.exit(main(['demo']))\n"
    done = _run(unpacked, code, tmp_path)
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "make demo" in line
    assert "armemu" in line


def _ignored(path: str, patterns: list[str]) -> bool:
    """``.funcignore`` uses .gitignore rules; ours needs names, ``dir/`` and globs."""
    parts = path.split("/")
    for pattern in patterns:
        if pattern.endswith("/"):
            if pattern.rstrip("/") in parts[:-1]:
                return True
        elif any(fnmatch.fnmatch(part, pattern) for part in parts) or path == pattern:
            return True
    return False


def test_function_app_package_has_the_product_and_no_test_machinery() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".funcignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    shipped = [path for path in tracked if not _ignored(path, patterns)]
    assert {"function_app.py", "host.json", "requirements.txt", "sync/engine.py"} <= set(shipped)
    assert not [p for p in shipped if p.split("/", 1)[0] in MACHINERY]
    python = [ROOT / p for p in shipped if p.endswith(".py")]
    assert not [p for p in python if "trustme" in p.read_text()]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel and the dependencies it declares, from the
    package index as a user gets them (pip's cache makes a second install quick)."""
    venv = tmp_path_factory.mktemp("venv") / "ipsync"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    return venv


def _resources(emulator: Emulator, network_client: Any) -> list[dict[str, Any]]:
    """One resource of every kind that lives in Azure, made in the emulator by its contract
    harness, and their targets (a kind added to the registry is packaged-tested with no edit
    here); plus an NSG that only discovery finds (tagged ``ipsync=<service tag>``)."""
    arm = Arm(emulator)
    targets = []
    for name in KIND_NAMES:
        if not get_kind(name).arm_type:
            continue  # a kind that makes no Azure request imports no Azure SDK
        harness: Harness = importlib.import_module(f"tests.contract.harness.{name}").HARNESS
        owners = [] if "foreign" in harness.not_applicable else list(FOREIGN)
        targets.append(harness.target(harness.create(arm, f"{name}1", owners), [TAG]))
    make_nsg(network_client, "found", tags={"ipsync": TAG})
    return targets


def test_the_installed_command_plans_every_kind_and_discovery_outside_the_checkout(
    installed: Path,
    emulator: Emulator,
    emulator_settings: Any,
    network_client: Any,
    tmp_path: Path,
) -> None:
    """Every SDK a kind or discovery imports comes with ``pip install ipsync``."""
    config = tmp_path / "ipsync.json"
    settings = {
        "arm_endpoint": emulator.endpoint,
        "ca_bundle": str(emulator.ca_bundle),
        "credential": "emulator",
        "subscription_id": emulator_settings.subscription_id,
        "cache_dir": str(tmp_path / "cache"),
        "source": str(RELEASE),
        "poll_interval_s": 0,
        "targets": _resources(emulator, network_client),
    }
    config.write_text(json.dumps(settings))
    done = subprocess.run(
        [str(installed / "bin" / "ipsync"), "plan", "--config", str(config), "--json"],
        check=False,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert "ModuleNotFoundError" not in done.stderr + done.stdout
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    planned = {(t["kind"], t["resource"]): t["status"] for t in report["targets"]}
    expected = {
        (t.get("kind", "nsg"), t.get("resource", t.get("nsg"))) for t in settings["targets"]
    }
    assert planned == dict.fromkeys({*expected, ("nsg", nsg_id("found"))}, "planned")


def test_the_checkout_venv_runs_ipsync_and_the_emulator_from_any_folder(tmp_path: Path) -> None:
    """``make demo`` and ``make test`` install the project (editable) and put the checkout on
    the path, so the docs' examples run from a scratch folder."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = Path(sys.executable).with_name("ipsync")
    assert command.is_file(), "the venv lacks the ipsync command: run make test"
    for argv in ([str(command), "--version"], [sys.executable, "-m", "armemu", "--help"]):
        done = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=60
        )
        assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")

"""Hatchling build hook: compile the .proto files before building a wheel.

Two proto sets are compiled: etcd's gRPC API (``watchproxy/etcd/_generated``)
and the Kubernetes object schema used to decode protobuf request bodies
(``watchproxy/kubeproto/_generated``). The generated modules are gitignored, so
they are produced here for both regular wheels and editable installs:

* editable (``pip install -e .``): hatchling's editable wheel only adds the
  source tree to sys.path, so generating in-tree is what makes the
  ``_generated`` packages importable;
* standard wheels: the files are gitignored, hence listed as build artifacts
  so hatchling includes them anyway.

A third generator, ``watchproxy/schema/generate.py``, writes the built-in type table and
OpenAPI definitions from lightkube-models and kubernetes-validate (build requirements).

The generation code lives in ``watchproxy/etcd/generate.py`` (also runnable as
``python -m watchproxy.etcd.generate``). It is loaded by file path rather than
imported because the ``watchproxy`` package and its runtime dependencies are
not installed in the isolated build environment.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from hatchling.builders.config import BuilderConfig
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

GENERATE_SCRIPT = Path("watchproxy") / "etcd" / "generate.py"
SCHEMA_SCRIPT = Path("watchproxy") / "schema" / "generate.py"
GENERATED_ARTIFACTS = (
    "/watchproxy/etcd/_generated/*.py",
    "/watchproxy/kubeproto/_generated/*.py",
    "/watchproxy/schema/_generated/*",
)


def _load_generate(root: Path, script: Path = GENERATE_SCRIPT) -> Any:
    path = root / script
    name = f"_watchproxy_{script.parent.name}_generate"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CustomBuildHook(BuildHookInterface[BuilderConfig]):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        # The sdist ships the .proto sources and this hook; the wheel built
        # from it regenerates, so there is nothing to do for other targets.
        if self.target_name != "wheel":
            return
        module = _load_generate(Path(self.root))
        written = module.generate_all()
        self.app.display_info(f"watchproxy: generated {len(written)} protobuf/gRPC modules")
        schema = _load_generate(Path(self.root), SCHEMA_SCRIPT).generate()
        self.app.display_info(f"watchproxy: generated the Kubernetes type table {schema}")
        build_data.setdefault("artifacts", []).extend(GENERATED_ARTIFACTS)

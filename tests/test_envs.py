"""The conda environments pin the same versions as requirements.txt, and every rule names one."""

import re

import yaml

from tests.helpers.paths import REPO


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)==([^\s#]+)\s*(#.*)?", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_conda_envs_agree_with_requirements():
    required = _pins((REPO / "requirements.txt").read_text().splitlines())
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        spec = yaml.safe_load(env.read_text())
        pip_section = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
        pins = _pins(pip_section)
        assert pins, env
        for name, version in pins.items():
            assert required.get(name) == version, f"{env.name}: {name}=={version}, requirements.txt says {required.get(name)}"
        python = next(d for d in spec["dependencies"] if isinstance(d, str) and d.startswith("python="))
        assert python == "python=3.11"


def test_every_rule_with_a_script_names_a_conda_env():
    for rules in (REPO / "rules").glob("*.smk"):
        text = rules.read_text()
        for body in re.split(r"\n\s*rule ", text)[1:]:
            if "script:" in body:
                assert re.search(r"conda:\s*\n\s*\"\.\./envs/\w+\.yaml\"", body), f"{rules.name}: rule {body.split(':')[0]}"

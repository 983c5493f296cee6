"""docs/pipelines.md's recipes, run: their shell steps against the demo, the way each runner would.

The test reads the YAML of each recipe out of the page (a small reader for the subset the recipes use:
PyYAML is not a dependency, and this is all a recipe needs), replaces `--config site.toml` by `--demo`,
and runs every `run:` / `script:` step in order in a temporary folder, with what the runner provides:
GitHub's `$GITHUB_STEP_SUMMARY`, `$GITHUB_ENV` and `$RUNNER_TEMP` (workflow commands, "Environment
files"), Azure's `##vso[task.setvariable]` and `##vso[task.uploadsummary]` (logging commands), and
secrets mapped by `env:` only. A step after a failed one runs only when its condition says so, as on
the runners. `uses:` / `task:` steps are not run; the files they would publish are checked instead.
`pip install` lines are checked against pyproject's extras and not run (offlineprep is installed here;
tests/test_first_run.py installs it in a fresh venv). `kinit`, `klist` and `kdestroy` are stand-ins
that check how they are called: no KDC answers here.
"""

from __future__ import annotations

import base64
import re
import shlex
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from offlineprep.example import EXAMPLE_SITE

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "pipelines.md"
BIN = Path(sys.executable).parent  # where `offlineprep` is installed for this test run


# ---- reading the recipes ------------------------------------------------------------------------------------------

def recipe(name: str) -> str:
    """The fenced YAML that follows `<!-- recipe: NAME -->` on the page."""
    match = re.search(rf"<!-- recipe: {re.escape(name)} -->\n```yaml\n(.*?)\n```", PAGE.read_text(), re.S)
    assert match, f"docs/pipelines.md has no recipe {name!r}"
    return match.group(1)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _scalar(text: str) -> str:
    text = re.sub(r"\s+#.*$", "", text).strip()  # a comment after a value (the recipes quote no " #")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


@dataclass
class Step:
    keys: dict[str, str] = field(default_factory=dict)
    maps: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.keys.get("name") or self.keys.get("displayName") or self.keys.get("uses") or self.keys.get(
            "task") or self.keys.get("publish") or self.keys.get("checkout") or "?"

    @property
    def shell(self) -> str | None:
        return self.keys.get("run") or self.keys.get("script")

    @property
    def condition(self) -> str:
        return self.keys.get("if") or self.keys.get("condition") or ""


def steps_of(yaml_text: str) -> list[Step]:
    """The steps of a workflow, a pipeline or a snippet of steps: each `- ` item at the steps' indent,
    its keys, its block scalars (`|`) and its one-level maps (env, with, inputs)."""
    lines = yaml_text.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.strip() == "steps:"), 0)
    first = next(i for i in range(start, len(lines)) if lines[i].lstrip().startswith("- "))
    step_indent = _indent(lines[first])
    steps: list[Step] = []
    i = first
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        if _indent(line) < step_indent:
            break
        if _indent(line) == step_indent and line.lstrip().startswith("- "):
            steps.append(Step())
            line = " " * (step_indent + 2) + line.lstrip()[2:]
        key_indent = _indent(line)
        key, _, value = line.strip().partition(":")
        value = value.strip()
        i += 1
        body: list[str] = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > key_indent):
            body.append(lines[i])
            i += 1
        while body and not body[-1].strip():
            body.pop()
        if value == "|":
            cut = min(_indent(b) for b in body if b.strip())
            steps[-1].keys[key] = "\n".join(b[cut:] for b in body) + "\n"
        elif value:
            steps[-1].keys[key] = _scalar(value)
        else:
            steps[-1].maps[key] = {k.strip(): _scalar(v) for k, _, v in
                                   (b.strip().partition(":") for b in body if b.strip() and not b.strip().startswith("#"))}
    return steps


# ---- running them -------------------------------------------------------------------------------------------------

STUBS = {
    # kinit -kt KEYTAB PRINCIPAL: the keytab must be a private, non-empty file; the ticket goes to KRB5CCNAME
    "kinit": r'''#!/bin/sh
echo "kinit $* ccache=$KRB5CCNAME" >> "$STUB_LOG"
[ "$1" = "-kt" ] && [ -s "$2" ] && [ -n "$3" ] || { echo "kinit: usage" >&2; exit 1; }
[ "$(stat -c %a "$2")" = "600" ] || { echo "kinit: keytab readable by others" >&2; exit 1; }
cp "$2" "$STUB_LOG.keytab-seen"
cache="${KRB5CCNAME#FILE:}"; [ -n "$KRB5CCNAME" ] || { echo "kinit: no KRB5CCNAME" >&2; exit 1; }
echo "ticket for $3" > "$cache"
''',
    "klist": '#!/bin/sh\ncache="${KRB5CCNAME#FILE:}"; [ -s "$cache" ] && cat "$cache"\n',
    "kdestroy": '#!/bin/sh\necho "kdestroy ccache=$KRB5CCNAME" >> "$STUB_LOG"; rm -f "${KRB5CCNAME#FILE:}"\n',
}

KEYTAB = b"\x05\x02 fake keytab for svc-preflight@CONTOSO.COM"


@dataclass
class Ran:
    step: Step
    code: int | None  # None: not a shell step, or not run
    ran: bool
    stdout: str = ""
    stderr: str = ""
    env: dict[str, str] = field(default_factory=dict)


def _runs_after_failure(platform: str, condition: str) -> bool:
    if platform == "github":
        return any(word in condition for word in ("always()", "!cancelled()", "failure()"))
    return any(word in condition for word in ("always()", "succeededOrFailed()", "failed()"))


def _check_install(command: str) -> str:
    """A `pip install .` / `'.[extra]'` line names extras pyproject declares; it is not run here."""
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    lines = []
    for line in command.splitlines():
        if re.search(r"\bpip install\b", line):
            target = shlex.split(line)[-1]
            assert target.startswith("."), line
            wanted = set(re.findall(r"[\w-]+", target[target.index("[") + 1:])) if "[" in target else set()
            assert wanted <= extras, f"{line}: pyproject has no extra {wanted - extras}"
            line = ": pip install checked, not run"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _secret(value: str, outputs: dict[str, str]) -> str:
    """A step's env value as the runner hands it over: a secret or a task's output variable."""
    github = re.fullmatch(r"\$\{\{\s*secrets\.(\w+)\s*\}\}", value)
    if github:
        return f"secret-{github.group(1)}" if github.group(1) != "PREFLIGHT_KEYTAB_B64" else base64.b64encode(
            KEYTAB).decode()
    azure = re.fullmatch(r"\$\(([\w.]+)\)", value)
    if azure:
        return outputs.get(azure.group(1), f"secret-{azure.group(1)}")
    return value


def run_pipeline(platform: str, steps: list[Step], workdir: Path) -> list[Ran]:
    temp = workdir / "runner-temp"
    stubs = workdir / "stubs"
    temp.mkdir()
    stubs.mkdir()
    for name, text in STUBS.items():
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    summary, github_env = temp / "step_summary.md", temp / "github_env"
    summary.touch()
    github_env.touch()
    base = {"PATH": f"{stubs}:{BIN}:/usr/bin:/bin", "HOME": str(workdir), "COLUMNS": "200",
            "STUB_LOG": str(workdir / "stub.log"), "LANG": "C.UTF-8"}
    if platform == "github":
        base |= {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ENV": str(github_env), "RUNNER_TEMP": str(temp)}
    else:
        base |= {"AGENT_TEMPDIRECTORY": str(temp)}
    carried: dict[str, str] = {}  # what $GITHUB_ENV / task.setvariable hand to the later steps
    outputs: dict[str, str] = {}  # task output variables, e.g. keytab.secureFilePath
    failed = False
    ran: list[Ran] = []
    for step in steps:
        if failed and not _runs_after_failure(platform, step.condition):
            ran.append(Ran(step, None, ran=False))
            continue
        if step.keys.get("task") == "DownloadSecureFile@1":  # what the task does: the file, and its path
            path = temp / step.maps["inputs"]["secureFile"]
            path.write_bytes(KEYTAB)
            path.chmod(0o600)
            outputs[f"{step.keys['name']}.secureFilePath"] = str(path)
        if step.shell is None:
            ran.append(Ran(step, None, ran=True))
            continue
        command = _check_install(step.shell.replace("--config site.toml", "--demo"))
        env = base | carried | {k: _secret(v, outputs) for k, v in step.maps.get("env", {}).items()}
        script = temp / "step.sh"
        script.write_text(command)
        # GitHub's default shell on Linux is `bash -e {0}`; Azure's script step runs bash on the file
        argv = ["bash", "-e", str(script)] if platform == "github" else ["bash", "--noprofile", "--norc", str(script)]
        proc = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
        ran.append(Ran(step, proc.returncode, True, proc.stdout, proc.stderr, env))
        failed = failed or proc.returncode != 0
        if platform == "github":
            for line in github_env.read_text().splitlines():
                key, _, value = line.partition("=")
                carried[key] = value
        for key, value in re.findall(r"^##vso\[task\.setvariable variable=([\w.]+)[^\]]*\](.*)$", proc.stdout, re.M):
            carried[key.upper().replace(".", "_")] = value
    return ran


def by_name(ran: list[Ran], name: str) -> Ran:
    return next(r for r in ran if r.step.name == name)


def report_exit_code(results: Path) -> int:
    """The exit code offlineprep gives the same results (`report` exits as the run did)."""
    return subprocess.run([str(BIN / "offlineprep"), "report", str(results)], capture_output=True, text=True,
                          timeout=120).returncode


def assert_outputs(workdir: Path, preflight: Ran) -> None:
    out = workdir / "out"
    assert preflight.code == report_exit_code(out / "results.json") == 1, preflight.stdout + preflight.stderr
    assert f"offlineprep exit code: {preflight.code}" in preflight.stdout
    root = ET.parse(out / "junit.xml").getroot()
    assert int(root.get("failures", "0")) + int(root.get("errors", "0")) > 0  # what blocks, failed in the tab
    assert int(root.get("skipped", "0")) > 0
    assert '"verdict": "not-ready"' in (out / "results.json").read_text()
    assert (out / "summary.md").read_text().strip()


# ---- the tests ----------------------------------------------------------------------------------------------------

def test_github_recipe_runs_against_the_demo(tmp_path: Path) -> None:
    steps = steps_of(recipe("github"))
    ran = run_pipeline("github", steps, tmp_path)
    preflight = by_name(ran, "Preflight")
    assert_outputs(tmp_path, preflight)
    # the Markdown is the step summary, whole
    assert (tmp_path / "runner-temp" / "step_summary.md").read_text() == (tmp_path / "out" / "summary.md").read_text()
    # the report and the artifact are published although Preflight failed, from files that exist
    report = by_name(ran, "Test report")
    assert report.ran and report.step.keys["uses"].startswith("dorny/test-reporter@")
    assert report.step.maps["with"]["reporter"] == "java-junit" and (tmp_path / report.step.maps["with"]["path"]).is_file()
    keep = by_name(ran, "Keep the results")
    assert keep.ran and (tmp_path / keep.step.maps["with"]["path"]).is_dir()
    assert by_name(ran, "Install offlineprep").code == 0


def test_azure_recipe_runs_against_the_demo(tmp_path: Path) -> None:
    steps = steps_of(recipe("azure"))
    ran = run_pipeline("azure", steps, tmp_path)
    preflight = by_name(ran, "Preflight")
    assert_outputs(tmp_path, preflight)
    uploads = re.findall(r"^##vso\[task\.uploadsummary\](.*)$", preflight.stdout, re.M)
    assert uploads == [str(tmp_path / "out" / "summary.md")]  # absolute, as the logging command wants
    publish = by_name(ran, "PublishTestResults@2")
    assert publish.ran and publish.step.condition == "succeededOrFailed()"
    assert publish.step.maps["inputs"]["testResultsFormat"] == "JUnit"
    assert (tmp_path / publish.step.maps["inputs"]["testResultsFiles"]).is_file()
    artifact = by_name(ran, "out")
    assert artifact.ran and (tmp_path / "out").is_dir()


@pytest.mark.parametrize("platform", ["github", "azure"])
def test_secrets_reach_offlineprep_by_env_only(platform: str) -> None:
    """The env names are the ones the site file names (offlineprep reads no other); no secret or
    variable macro is spelled in a command line, where the process list and logs would show it."""
    wanted = set(re.findall(r'password_env = "(\w+)"', EXAMPLE_SITE.split("# [[directory]]")[0]))
    assert wanted == {"OFFLINEPREP_LDAP_PASSWORD", "OFFLINEPREP_WINRM_PASSWORD"}
    steps = steps_of(recipe(platform)) + steps_of(recipe(f"{platform}-kerberos"))
    preflight = next(s for s in steps if s.name == "Preflight")
    assert set(preflight.maps["env"]) == wanted
    for step in steps:
        for value in step.maps.get("env", {}).values():
            assert re.fullmatch(r"\$\{\{ secrets\.\w+ \}\}|\$\([\w.]+\)", value), value
        for text in filter(None, [step.shell]):
            assert "secrets." not in text and not re.search(r"\$\([A-Za-z_][\w.]*\)", text), text
            assert "PASSWORD" not in text, text


@pytest.mark.parametrize("platform", ["github", "azure"])
def test_kerberos_from_a_keytab(platform: str, tmp_path: Path) -> None:
    """The keytab steps before Preflight, the ticket forgotten at the end even when Preflight failed."""
    main = steps_of(recipe(platform))
    kerberos = steps_of(recipe(f"{platform}-kerberos"))
    forget = [s for s in kerberos if s.name == "Forget the ticket"]
    before = [s for s in kerberos if s not in forget]
    at = next(i for i, s in enumerate(main) if s.name == "Preflight")
    ran = run_pipeline(platform, main[:at] + before + main[at:] + forget, tmp_path)
    ticket = by_name(ran, "Kerberos ticket from the keytab")
    assert ticket.code == 0, ticket.stdout + ticket.stderr
    log = (tmp_path / "stub.log").read_text().splitlines()
    kinit = next(line for line in log if line.startswith("kinit "))
    words = kinit.split()
    assert words[1:3] == ["-kt", words[2]] and words[3] == "svc-preflight@CONTOSO.COM", kinit
    assert (tmp_path / "stub.log.keytab-seen").read_bytes() == KEYTAB  # the secret, decoded, mode 0600
    cache = words[4].removeprefix("ccache=")
    assert cache.startswith(f"FILE:{tmp_path / 'runner-temp'}/"), cache  # the job's own cache, not the default
    if platform == "github":
        assert not Path(words[2]).exists()  # the keytab is gone once the ticket is there
    preflight = by_name(ran, "Preflight")
    assert preflight.env.get("KRB5CCNAME") == cache  # handed on by $GITHUB_ENV / task.setvariable
    assert_outputs(tmp_path, preflight)
    assert by_name(ran, "Forget the ticket").ran and f"kdestroy ccache={cache}" in log
    assert not Path(cache.removeprefix("FILE:")).exists()


def test_the_page_publishes_junit_with_the_documented_tasks() -> None:
    github = {s.keys.get("uses", "").split("@")[0] for s in steps_of(recipe("github"))}
    azure = {s.keys.get("task", "") for s in steps_of(recipe("azure"))}
    assert "dorny/test-reporter" in github and "PublishTestResults@2" in azure
    assert "README.md#verdicts-and-exit-codes" in PAGE.read_text()


def test_the_reader_reads_block_scalars_and_maps() -> None:
    steps = steps_of("steps:\n  - name: A\n    env:\n      X: ${{ secrets.X }}  # c\n    run: |\n      echo 1\n\n"
                     "      echo 2\n  - uses: a/b@v1\n    with:\n      path: out/\n")
    assert [s.name for s in steps] == ["A", "a/b@v1"]
    assert steps[0].shell == "echo 1\n\necho 2\n" and steps[0].maps["env"] == {"X": "${{ secrets.X }}"}
    assert steps[1].maps["with"] == {"path": "out/"}

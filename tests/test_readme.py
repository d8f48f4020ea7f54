"""The README contract: the test command it shows is the one CI runs."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.strip()]


def test_ci_runs_the_readme_test_command():
    commands = _readme_commands()
    test_cmds = [c for c in commands if "pytest" in c]
    assert len(test_cmds) == 1, f"README should show exactly one test command, found {test_cmds}"
    ci = (ROOT / ".ci" / "run").read_text()
    ci_lines = [line.strip() for line in ci.splitlines()
                if line.strip() and not line.strip().startswith("#")]
    assert test_cmds[0] in ci_lines, (f"README's test command {test_cmds[0]!r} is not a line of "
                                      ".ci/run")

"""The README's Python example, run as written (with pandas absent,
search_runs gives a list)."""

import pathlib
import re


def test_the_readme_example_runs(store):
    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    (block,) = [
        b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "import runlog as mlflow" in b
    ]
    scope = {}
    exec(compile(block, "README.md", "exec"), scope)
    runs = scope["runs"]
    assert len(runs) == 1
    run = runs[0] if isinstance(runs, list) else None
    if run is not None:
        assert run.info.status == "FINISHED"
        assert run.data.params == {"lr": "0.01", "batch": "32"}
        assert run.data.metrics["loss"] == 1.0 / 100_000

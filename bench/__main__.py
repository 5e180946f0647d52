"""Run every benchmark in bench/: `python -m bench` (or `python -m bench NAME...` for some of them).

Each benchmark is a module here with a `main()` that prints `metric: value`
lines and records its section of bench/RESULTS.md. They run one after the
other, never together: each one measures CPU on a machine it assumes quiet.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    # The soak runs for half an hour: only when named (`python -m bench soak`).
    names = sys.argv[1:] or sorted(
        m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_") and m.name != "soak"
    )
    failed = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        if not hasattr(module, "main"):
            continue
        print(f"== bench.{name}", flush=True)
        saved = sys.argv
        sys.argv = [f"bench.{name}"]
        try:
            module.main()
        except SystemExit as exc:
            if exc.code not in (None, 0):
                failed.append(name)
        finally:
            sys.argv = saved
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

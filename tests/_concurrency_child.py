"""A worker process for tests/test_concurrency.py: waits for "go" on stdin, then writes to a shared workspace.

Usage: python _concurrency_child.py ROLE HOME JSON_ARGS
ROLE is "writer" (a seeded mix of register / promote / update-card), "verifier" (verify the log
repeatedly until "stop" arrives on stdin) or "opener" (open a new workspace and register once).
Prints "ready" once set up, then one JSON line with what it did. Exit 0 unless something unexpected happened.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import traceback
from pathlib import Path


def _wait_for_go() -> None:
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("no go signal")


def _writer(home: Path, args: dict) -> dict:
    from app.core.errors import ConflictError, NotFoundError
    from app.core.settings import WorkspacePaths
    from app.services.queries import list_versions
    from app.services.register import ModelCard, register_model, update_model_card
    from app.services.stages import promote_version
    from app.store.workspace import open_workspace

    import sklearn.linear_model  # noqa: F401  (import cost paid before the start line, not inside the race)

    ws = open_workspace(WorkspacePaths(home))
    rng = random.Random(args["seed"])
    done = {"registered": 0, "moves": 0, "updated": 0, "conflicts": 0, "not_found": 0, "ops": 0}
    _wait_for_go()
    for i in range(args["ops"]):
        name = rng.choice(args["names"])
        roll = rng.random()
        done["ops"] += 1
        try:
            if roll < 0.4:
                register_model(ws, name, rng.choice(args["models"]), args["train"], "target",
                               note=f"{args['id']} op {i}")
                done["registered"] += 1
            elif roll < 0.8:
                versions = list_versions(ws, name)
                if not versions:
                    done["not_found"] += 1
                    continue
                number = rng.choice(versions).number
                stage = rng.choice(["staging", "production", "production", "archived"])
                moves = promote_version(ws, name, number, stage, f"{args['id']} op {i}")
                done["moves"] += len(moves)
            else:
                update_model_card(ws, name, ModelCard(description=f"{args['id']} op {i}"))
                done["updated"] += 1
        except ConflictError:
            done["conflicts"] += 1
        except NotFoundError:
            done["not_found"] += 1
    ws.close()
    return done


def _verifier(home: Path, args: dict) -> dict:
    from app.core.settings import WorkspacePaths
    from app.services.audit import verify_log
    from app.store.workspace import open_workspace

    ws = open_workspace(WorkspacePaths(home))
    _wait_for_go()
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    rounds, problems, counts = 0, [], []
    while True:  # verify for as long as the writers write, then once more after "stop"
        last = stop.is_set()
        result = verify_log(ws)
        rounds += 1
        if not result.ok:
            problems.append(result.summary)
        if not counts or counts[-1] != result.events:
            counts.append(result.events)
        if last:
            break
    ws.close()
    return {"rounds": rounds, "problems": problems, "events": counts}


def _opener(home: Path, args: dict) -> dict:
    from app.core.settings import WorkspacePaths
    from app.services.register import register_model
    from app.store.workspace import open_workspace

    import sklearn.linear_model  # noqa: F401

    _wait_for_go()
    ws = open_workspace(WorkspacePaths(home))
    v = register_model(ws, args["name"], args["models"][0], args["train"], "target")
    ws.close()
    return {"backup": str(ws.backup) if ws.backup else None, "number": v.number}


def main() -> int:
    role, home, raw = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    try:
        result = {"writer": _writer, "verifier": _verifier, "opener": _opener}[role](home, raw)
    except BaseException:
        traceback.print_exc()
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

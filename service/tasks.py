"""The task registry: every task this service serves, one line each. The map of the whole.

Everything else iterates over this list: the app's routes and body limits (service/app.py), the model
registry (service/engine/registry.py), the settings (service/settings.py), metrics labels
(service/middleware.py), the /v2 models (service/routes/kserve.py), `python -m export`,
`python -m evaluation` and `python -m models.training`. Adding a task: a package under models/ with a
`task.py` that builds its TaskSpec, and a line here (README: "Adding a model").
"""

from __future__ import annotations

from models.caption.task import TASK as CAPTION
from models.hull.task import TASK as HULL
from models.ntm.task import TASK as NTM
from models.qa.task import TASK as QA
from models.sentiment.task import TASK as SENTIMENT
from models.speech.task import TASK as SPEECH
from models.translate.task import TASK as TRANSLATE
from service.taskspec import ModelSpec, TaskSpec

TASKS: tuple[TaskSpec, ...] = (HULL, TRANSLATE, SPEECH, CAPTION, SENTIMENT, QA, NTM)

# Served models by name (a task may serve several: /caption has two).
MODELS: dict[str, ModelSpec] = {m.name: m for t in TASKS for m in t.models}
TASK_OF: dict[str, TaskSpec] = {m.name: t for t in TASKS for m in t.models}


def task(name: str) -> TaskSpec:
    for t in TASKS:
        if t.name == name:
            return t
    raise KeyError(f"no task {name!r}; the tasks are {', '.join(t.name for t in TASKS)}")

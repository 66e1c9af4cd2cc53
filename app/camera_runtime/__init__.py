"""The camera runtime: long-running processes that turn camera streams into findings, apart from the web app.

`config` builds the detector and the rules from the app's settings (plain `RuntimeConfigError`s, never CLI
exceptions, since they are raised inside spawned processes too); `process` is one camera process's loop;
`supervisor` starts a process per camera (or batch of cameras), restarts crashed ones and stops them all on
one stop event; `health` is what each process publishes for the console; `replay` runs a recording through a
camera's pipeline; `demo` prepares the demo's detector and videos. The CLI (`app/cli_vision.py`) only parses
options and maps these errors; findings become cases through `app.services.vision`.
"""

from app.camera_runtime.config import RuntimeConfigError, build_detector, load_rules

__all__ = ["RuntimeConfigError", "build_detector", "load_rules"]

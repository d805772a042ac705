"""`python -m tests.browser.emulator_with_outlook ARGS`: the emulator, with the Outlook-like
page registered even where emulator/app.py does not register it itself (it is a no-op then)."""
import sys

import emulator.__main__ as emulator_main
import emulator.app as emulator_app
from emulator import outlook

_create_app = emulator_app.create_app


def create_app(*args, **kwargs):
    app = _create_app(*args, **kwargs)
    if "outlook" not in app.blueprints:
        app.register_blueprint(outlook.bp)
    return app


emulator_main.create_app = create_app

if __name__ == "__main__":
    sys.exit(emulator_main.main())

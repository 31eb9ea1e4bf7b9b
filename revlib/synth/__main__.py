"""``python -m revlib.synth ...`` is ``revlib synth ...``."""

import sys

from revlib.cli import main

raise SystemExit(main(["synth", *sys.argv[1:]]))

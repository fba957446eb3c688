"""Write the README's table of options from the run specification (tests check it is current).

python scripts/update_readme.py
"""

from __future__ import annotations

import re
from pathlib import Path

from wattcast.settings import options_table

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- options: made by scripts/update_readme.py -->", "<!-- /options -->"

text = README.read_text()
pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
if not pattern.search(text):
    raise SystemExit(f"README.md has no {START} ... {END} block.")
README.write_text(pattern.sub(lambda _: f"{START}\n{options_table()}\n{END}", text))
print(f"wrote the options table into {README}")

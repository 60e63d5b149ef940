"""The batch reference: one process renders every dumped context with bare docxtpl, one after another.

Run: python benchmarks/bare_loop.py TEMPLATE.docx OUT_DIR CONTEXT.json...
"""

import json
import sys
from pathlib import Path

from docxtpl import DocxTemplate
from jinja2.sandbox import SandboxedEnvironment

template_path, out_dir, *contexts = sys.argv[1:]
for number, context_path in enumerate(contexts):
    with open(context_path, encoding="utf-8") as stream:
        context = json.load(stream)
    document = DocxTemplate(template_path)
    document.render(context, jinja_env=SandboxedEnvironment(autoescape=True), autoescape=True)
    document.save(Path(out_dir) / f"{number}.docx")

"""The reference: a bare docxtpl render of the template from a dumped context, nothing else.

Run: python benchmarks/bare_render.py CONTEXT.json TEMPLATE.docx OUT.docx
"""

import json
import sys

from docxtpl import DocxTemplate
from jinja2.sandbox import SandboxedEnvironment

context_path, template_path, output_path = sys.argv[1:4]
with open(context_path, encoding="utf-8") as stream:
    context = json.load(stream)
document = DocxTemplate(template_path)
document.render(context, jinja_env=SandboxedEnvironment(autoescape=True), autoescape=True)
document.save(output_path)

"""The bundled Word template, shipped inside the opsdoc package as opsdoc.word_templates."""
